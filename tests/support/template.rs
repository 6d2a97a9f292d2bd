//! `template.yaml` as JSON, CloudFormation short forms in their long form
//! (`!Ref X` as `{"Ref": "X"}`, `!GetAtt A.B` as `{"Fn::GetAtt": "A.B"}`,
//! `!Sub s` as `{"Fn::Sub": s}`), aliases resolved: read offline, with no
//! tool but the test itself.

use serde_json::{Map, Number, Value};
use serde_yaml::Value as Yaml;

/// The repository's template.
pub fn load() -> Value {
    let path = crate::root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&text)
}

/// Any CloudFormation template text.
pub fn parse(text: &str) -> Value {
    let yaml: Yaml = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("template: {e}"));
    json(yaml)
}

fn json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => n
            .as_u64()
            .map(Number::from)
            .or_else(|| n.as_i64().map(Number::from))
            .or_else(|| n.as_f64().and_then(Number::from_f64))
            .map_or(Value::Null, Value::Number),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (key(k), json(v)))
                .collect::<Map<_, _>>(),
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let long = if name == "Ref" || name == "Condition" {
                name.to_owned()
            } else {
                format!("Fn::{name}")
            };
            let mut object = Map::new();
            object.insert(long, json(tagged.value));
            Value::Object(object)
        }
    }
}

fn key(yaml: Yaml) -> String {
    match json(yaml) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_become_long_forms() {
        let value = parse(
            "A: !Ref B\nC: !GetAtt D.Arn\nE: !Sub '${F}-x'\nG: &g [1, two]\nH: *g\nI: !If [c, 1, 2]\n",
        );
        assert_eq!(value["A"], serde_json::json!({"Ref": "B"}));
        assert_eq!(value["C"], serde_json::json!({"Fn::GetAtt": "D.Arn"}));
        assert_eq!(value["E"], serde_json::json!({"Fn::Sub": "${F}-x"}));
        assert_eq!(value["H"], serde_json::json!([1, "two"]));
        assert_eq!(value["I"], serde_json::json!({"Fn::If": ["c", 1, 2]}));
    }
}
