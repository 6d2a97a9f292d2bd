//! `template.yaml` as JSON, CloudFormation short forms in their long form
//! (`!Ref X` as `{"Ref": "X"}`, `!GetAtt A.B` as `{"Fn::GetAtt": "A.B"}`,
//! `!Sub s` as `{"Fn::Sub": s}`), aliases resolved, and its `Fn::ForEach`
//! loops expanded for given parameter values as the
//! `AWS::LanguageExtensions` transform expands them: read offline, with no
//! tool but the test itself.

use std::collections::BTreeMap;

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
/// can be checked, and `${!Text}` by `${Text}`; a variable of the list form
/// by its value: a string, a `Fn::Sub` (substituted the same way), a
/// `Fn::If`, whose first branch is taken when `condition` is true, else its
/// second, or what [`literal`] makes of it.
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
        if let Some(literal) = name.strip_prefix('!') {
            // `${!Text}` is the text `${Text}`, not a placeholder.
            out.push_str(&format!("${{{literal}}}"));
        } else {
            match variables.and_then(|v| v.get(name)) {
                Some(variable) => out.push_str(&variable_text(variable, condition)),
                None => out.push_str(name),
            }
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
        _ => literal(value).unwrap_or_else(|| {
            panic!("a Fn::Sub variable that is no string, Fn::Sub, Fn::If or literal: {value}")
        }),
    }
}

/// The string an intrinsic function of literals stands for: a string
/// itself, `Fn::Select` of a list or of a `Fn::Split`, `Fn::Join` of a
/// list; `None` for anything that depends on the stack (a `Ref`, a
/// `Fn::GetAtt`, ...).
pub fn literal(value: &Value) -> Option<String> {
    if let Some(text) = value.as_str() {
        return Some(text.to_owned());
    }
    if let Some([index, list]) = value["Fn::Select"].as_array().map(Vec::as_slice) {
        let index: usize = match index {
            Value::String(text) => text.parse().ok()?,
            number => usize::try_from(number.as_u64()?).ok()?,
        };
        return literal_list(list)?.into_iter().nth(index);
    }
    if let Some([separator, list]) = value["Fn::Join"].as_array().map(Vec::as_slice) {
        return Some(literal_list(list)?.join(separator.as_str()?));
    }
    None
}

/// The strings of a literal list or of a `Fn::Split` of a literal.
fn literal_list(value: &Value) -> Option<Vec<String>> {
    if let Some(items) = value.as_array() {
        return items.iter().map(literal).collect();
    }
    let [separator, text] = value["Fn::Split"].as_array().map(Vec::as_slice)? else {
        return None;
    };
    let text = literal(text)?;
    Some(text.split(separator.as_str()?).map(str::to_owned).collect())
}

/// `template` as the `AWS::LanguageExtensions` transform leaves it when
/// each list parameter named in `parameters` has the given items: every
/// `Fn::ForEach::Name` entry of a mapping (`[identifier, collection,
/// fragment]`) becomes one copy of its fragment's entries per item of the
/// collection (a literal list, or a `Ref` to one of `parameters`), in which
/// the identifier is replaced in keys and values: `${identifier}` by the
/// item, `&{identifier}` by the item's letters and digits only (how logical
/// ids are made of items), `{"Ref": identifier}` by the item. Loops inside
/// a fragment are expanded after the outer identifier is replaced. Two
/// copies (or a copy and an entry) with one key are a template error, and
/// so panic, as does a `Ref` to a parameter that is not given.
pub fn expanded(template: &Value, parameters: &[(&str, &[&str])]) -> Value {
    let parameters: BTreeMap<&str, &[&str]> = parameters.iter().copied().collect();
    expand(template, &parameters)
}

fn expand(value: &Value, parameters: &BTreeMap<&str, &[&str]>) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut put = |key: String, value: Value| {
                assert!(
                    !out.contains_key(&key),
                    "two entries named {key} after expanding the loops"
                );
                out.insert(key, value);
            };
            for (key, entry) in map {
                if !key.starts_with("Fn::ForEach::") {
                    put(key.clone(), expand(entry, parameters));
                    continue;
                }
                let Some([identifier, collection, fragment]) = entry.as_array().map(Vec::as_slice)
                else {
                    panic!("{key} is not [identifier, collection, fragment]: {entry}");
                };
                let identifier = identifier
                    .as_str()
                    .unwrap_or_else(|| panic!("{key}: identifier {identifier}"));
                for item in items(key, collection, parameters) {
                    let copy = expand(&replaced(fragment, identifier, &item), parameters);
                    let Value::Object(entries) = copy else {
                        panic!("{key}: the fragment is no mapping: {fragment}");
                    };
                    for (k, v) in entries {
                        put(k, v);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(values) => {
            Value::Array(values.iter().map(|v| expand(v, parameters)).collect())
        }
        other => other.clone(),
    }
}

/// The items a loop's collection stands for.
fn items(key: &str, collection: &Value, parameters: &BTreeMap<&str, &[&str]>) -> Vec<String> {
    if let Some(name) = collection["Ref"].as_str() {
        let given = parameters.get(name).unwrap_or_else(|| {
            panic!("{key} loops over parameter {name}, which has no value here")
        });
        return given.iter().map(|item| (*item).to_owned()).collect();
    }
    literal_list(collection)
        .unwrap_or_else(|| panic!("{key}: a collection that is no list nor Ref: {collection}"))
}

/// `value` with the loop's `identifier` replaced by `item`.
fn replaced(value: &Value, identifier: &str, item: &str) -> Value {
    let text = |s: &str| {
        let alphanumeric: String = item.chars().filter(char::is_ascii_alphanumeric).collect();
        s.replace(&format!("${{{identifier}}}"), item)
            .replace(&format!("&{{{identifier}}}"), &alphanumeric)
    };
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(values) => Value::Array(
            values
                .iter()
                .map(|v| replaced(v, identifier, item))
                .collect(),
        ),
        Value::Object(map)
            if map.len() == 1 && map.get("Ref") == Some(&Value::from(identifier)) =>
        {
            Value::String(item.to_owned())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (text(k), replaced(v, identifier, item)))
                .collect(),
        ),
        other => other.clone(),
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

    #[test]
    fn a_sub_keeps_escaped_placeholders_and_reads_literal_variables() {
        let value =
            parse("A: !Sub ['${!PROP(x)} ${N}', {N: !Select [1, !Split [':', 'a:b:c']]}]\n");
        assert_eq!(substituted(&value["A"], true), "${PROP(x)} b");
    }

    #[test]
    fn literals_are_read_and_what_depends_on_the_stack_is_not() {
        for (text, want) in [
            ("'a'", Some("a")),
            ("!Select [2, !Split [':', 'r:c:h']]", Some("h")),
            ("!Select [0, [x, y]]", Some("x")),
            ("!Join [',', [x, y]]", Some("x,y")),
            ("!Select [3, !Split [':', 'r:c:h']]", None),
            ("!Ref P", None),
            ("!Join [',', !Ref P]", None),
            ("!GetAtt A.Arn", None),
        ] {
            let value = parse(&format!("V: {text}\n"));
            assert_eq!(literal(&value["V"]).as_deref(), want, "{text}");
        }
    }

    /// List parameters and their items.
    type Parameters<'a> = &'a [(&'a str, &'a [&'a str])];

    /// Each case: a template, the parameters, and what the loops expand to.
    #[test]
    fn loops_expand_as_cloudformation_expands_them() {
        let cases: &[(&str, Parameters<'_>, &str)] = &[
            // One copy per item; ${} as is, &{} letters and digits, Ref by
            // the item; the rest of the mapping and other placeholders kept.
            (
                "R:\n  Kept: 1\n  'Fn::ForEach::L':\n    - I\n    - ['a-1', 'b:2']\n    - 'X&{I}': {N: '${I}', S: !Sub '${AWS::Region}-${I}-${J}', V: !Ref I, W: !Ref J}\n",
                &[],
                r#"{"R": {"Kept": 1,
                   "Xa1": {"N": "a-1", "S": {"Fn::Sub": "${AWS::Region}-a-1-${J}"}, "V": "a-1", "W": {"Ref": "J"}},
                   "Xb2": {"N": "b:2", "S": {"Fn::Sub": "${AWS::Region}-b:2-${J}"}, "V": "b:2", "W": {"Ref": "J"}}}}"#,
            ),
            // A Ref to a list parameter; every entry of the fragment copied.
            (
                "R:\n  'Fn::ForEach::L':\n    - I\n    - !Ref P\n    - 'A${I}': {Ref: I}\n      'B&{I}': [!Select [0, !Split [':', !Ref I]]]\n",
                &[("P", &["x:1", "y:2", "z:3"])],
                r#"{"R": {"Ax:1": "x:1", "Ay:2": "y:2", "Az:3": "z:3",
                   "Bx1": [{"Fn::Select": [0, {"Fn::Split": [":", "x:1"]}]}],
                   "By2": [{"Fn::Select": [0, {"Fn::Split": [":", "y:2"]}]}],
                   "Bz3": [{"Fn::Select": [0, {"Fn::Split": [":", "z:3"]}]}]}}"#,
            ),
            // Loops nest, the inner one seeing the outer item; loops inside
            // properties expand too.
            (
                "R:\n  'Fn::ForEach::O':\n    - I\n    - [a, b]\n    - 'Fn::ForEach::N':\n        - J\n        - ['1', '2']\n        - 'K${I}${J}': {'Fn::ForEach::P': [Q, [q], {'${Q}${I}': '${J}'}]}\n",
                &[],
                r#"{"R": {"Ka1": {"qa": "1"}, "Ka2": {"qa": "2"}, "Kb1": {"qb": "1"}, "Kb2": {"qb": "2"}}}"#,
            ),
            // No item, no copy.
            (
                "R:\n  'Fn::ForEach::L': [I, !Ref P, {'X&{I}': 1}]\n",
                &[("P", &[])],
                r#"{"R": {}}"#,
            ),
        ];
        for (template, parameters, want) in cases {
            let want: Value = serde_json::from_str(want).unwrap();
            assert_eq!(expanded(&parse(template), parameters), want, "{template}");
        }
    }

    #[test]
    #[should_panic(expected = "two entries named X1")]
    fn two_copies_with_one_logical_id_are_an_error() {
        expanded(
            &parse("R:\n  'Fn::ForEach::L': [I, ['1', '-1'], {'X&{I}': 1}]\n"),
            &[],
        );
    }

    #[test]
    #[should_panic(expected = "loops over parameter P, which has no value here")]
    fn a_loop_over_a_parameter_without_a_value_is_an_error() {
        expanded(
            &parse("R:\n  'Fn::ForEach::L': [I, !Ref P, {'X&{I}': 1}]\n"),
            &[],
        );
    }
}
