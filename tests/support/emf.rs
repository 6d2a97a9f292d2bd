//! The metrics the functions printed, read back from their output the way
//! CloudWatch reads Embedded Metric Format documents: each line that is a
//! JSON object with an `_aws.CloudWatchMetrics` directive declares metrics
//! whose values and dimension values are the object's own members.

use std::collections::BTreeMap;

use serde_json::Value;

/// One metric value of one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub namespace: String,
    pub name: String,
    pub unit: String,
    pub dimensions: BTreeMap<String, String>,
    /// A counter or a level has one value; a duration may have several.
    pub values: Vec<f64>,
}

/// Every figure declared in `output`, in order. A document that breaks the
/// format (a declared metric or dimension with no member) panics, naming it.
pub fn figures(output: &str) -> Vec<Figure> {
    let mut found = Vec::new();
    for line in output.lines() {
        let Some(start) = line.find('{') else {
            continue;
        };
        let Ok(document) = serde_json::from_str::<Value>(&line[start..]) else {
            continue;
        };
        let Some(directives) = document["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        assert!(
            document["_aws"]["Timestamp"].as_u64().is_some(),
            "no timestamp: {line}"
        );
        for directive in directives {
            let namespace = directive["Namespace"].as_str().unwrap_or_default();
            let names: Vec<&str> = directive["Dimensions"][0]
                .as_array()
                .map(|d| d.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let dimensions: BTreeMap<String, String> = names
                .iter()
                .map(|name| {
                    let value = document[*name]
                        .as_str()
                        .unwrap_or_else(|| panic!("dimension {name} has no value: {line}"));
                    ((*name).to_owned(), value.to_owned())
                })
                .collect();
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().unwrap_or_default();
                let values = match &document[name] {
                    Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN)],
                    Value::Array(all) => all.iter().filter_map(Value::as_f64).collect(),
                    other => panic!("metric {name} has no value ({other}): {line}"),
                };
                found.push(Figure {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    unit: metric["Unit"].as_str().unwrap_or_default().to_owned(),
                    dimensions: dimensions.clone(),
                    values,
                });
            }
        }
    }
    found
}

/// The values of `name` whose dimensions are exactly `dimensions`.
pub fn values(figures: &[Figure], name: &str, dimensions: &[(&str, &str)]) -> Vec<f64> {
    let wanted: BTreeMap<String, String> = dimensions
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    figures
        .iter()
        .filter(|f| f.name == name && f.dimensions == wanted)
        .flat_map(|f| f.values.iter().copied())
        .collect()
}

/// The sum of `name` with exactly `dimensions`, as CloudWatch's `Sum` gives it.
pub fn sum(figures: &[Figure], name: &str, dimensions: &[(&str, &str)]) -> f64 {
    values(figures, name, dimensions).iter().sum()
}
