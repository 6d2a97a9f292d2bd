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

/// The text a `Fn::Sub` (either form) stands for, each `${Name}` replaced
/// by its name (`${A.Arn}` by `A.Arn`), so what surrounds the placeholders
/// can be checked; a variable of the list form by its value: a string, a
/// `Fn::Sub` (substituted the same way) or a `Fn::If`, whose first branch
/// is taken when `condition` is true, else its second.
pub fn substituted(value: &Value, condition: bool) -> String {
    let (text, variables) = match &value["Fn::Sub"] {
        Value::String(text) => (text.as_str(), None),
        Value::Array(form) => (
            form[0]
                .as_str()
                .unwrap_or_else(|| panic!("Fn::Sub text: {}", form[0])),
            form.get(1),
        ),
        other => panic!("not a Fn::Sub: {value} ({other})"),
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("unclosed ${{ in {text}"));
        let name = &after[..end];
        match variables.and_then(|v| v.get(name)) {
            Some(variable) => out.push_str(&variable_text(variable, condition)),
            None => out.push_str(name),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn variable_text(value: &Value, condition: bool) -> String {
    if let Some(text) = value.as_str() {
        return text.to_owned();
    }
    if value.get("Fn::Sub").is_some() {
        return substituted(value, condition);
    }
    match &value["Fn::If"] {
        Value::Array(branches) if branches.len() == 3 => {
            variable_text(&branches[if condition { 1 } else { 2 }], condition)
        }
        _ => panic!("a Fn::Sub variable that is no string, Fn::Sub or Fn::If: {value}"),
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

    #[test]
    fn a_sub_reads_as_its_text_with_placeholders_named() {
        let value = parse(
            "A: !Sub '${AWS::Region}/${B.Arn}'\nC: !Sub\n  - '[${D}${E}]'\n  - D: !If [c, !Sub '\"${F}\",', '']\n    E: '\"e\"'\n",
        );
        assert_eq!(substituted(&value["A"], true), "AWS::Region/B.Arn");
        assert_eq!(substituted(&value["C"], true), r#"["F","e"]"#);
        assert_eq!(substituted(&value["C"], false), r#"["e"]"#);
    }
}
