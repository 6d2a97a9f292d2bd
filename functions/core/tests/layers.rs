//! The core's architecture, checked: every module depends only on modules
//! of its own layer or of a lower one, and no modules import each other in a
//! circle. The layers, lowest first, as `src/lib.rs` describes them.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const LAYERS: &[&str] = &["error", "config", "model", "rules", "notices", "app"];
/// Compiled for tests only: they may use anything, and nothing may use them.
/// So is every module's own `tests` file (`rules/readiness/tests`).
const TEST_ONLY: &[&str] = &["fakes", "lifecycle_props"];

fn test_only(module: &str) -> bool {
    TEST_ONLY.contains(&module) || module.ends_with("/tests")
}

/// A module by its path below `src/`, without `.rs` or `/mod.rs`: `model/incident`.
type Module = String;

fn layer(module: &str) -> Option<usize> {
    let top = module.split('/').next().unwrap_or(module);
    LAYERS.iter().position(|l| *l == top)
}

/// The production part of a file: everything before its test module.
fn production(source: &str) -> &str {
    source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |at| &source[..at])
}

/// The modules a file's production code names through `crate::`.
fn dependencies(source: &str, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    let code = production(source);
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c::d}`: each element names a path from the root.
            let end = group.find('}').unwrap_or(group.len());
            for element in group[..end].split(',') {
                found.extend(resolve(element.trim(), modules));
            }
        } else {
            found.extend(resolve(rest, modules));
        }
    }
    found
}

/// The deepest module a path like `model::incident::Incident` starts with;
/// the crate root's re-exports (`crate::Error`) belong to `error`.
fn resolve(path: &str, modules: &BTreeSet<Module>) -> Option<Module> {
    let segments: Vec<&str> = path
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .next()
        .unwrap_or("")
        .split("::")
        .filter(|s| !s.is_empty())
        .collect();
    let mut best = None;
    for n in 1..=segments.len() {
        let candidate = segments[..n].join("/");
        if modules.contains(&candidate) {
            best = Some(candidate);
        }
    }
    best.or_else(|| {
        matches!(segments.first(), Some(&("Error" | "Result"))).then(|| "error".to_owned())
    })
}

fn sources(dir: &Path, below: &Path, into: &mut BTreeMap<Module, PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, below, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(below).unwrap().with_extension("");
            let mut name = relative.to_string_lossy().replace('\\', "/");
            if let Some(parent) = name.strip_suffix("/mod") {
                name = parent.to_owned();
            }
            if name != "lib" {
                into.insert(name, path);
            }
        }
    }
}

/// Every production edge of the core's source tree, module to module.
fn graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = BTreeMap::new();
    sources(src, src, &mut files);
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    files
        .iter()
        .filter(|(module, _)| !test_only(module))
        .map(|(module, path)| {
            let source = fs::read_to_string(path).unwrap();
            let mut deps = dependencies(&source, &modules);
            deps.remove(module);
            // A parent `mod.rs` declares its children: that is not a use.
            deps.retain(|d| !d.starts_with(&format!("{module}/")));
            (module.clone(), deps)
        })
        .collect()
}

/// Every edge that goes up a layer, or into a test-only module.
fn upward_edges(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (module, deps) in graph {
        let Some(own) = layer(module) else {
            wrong.push(format!("{module} is in no layer (one of {LAYERS:?})"));
            continue;
        };
        for dep in deps {
            match layer(dep) {
                Some(theirs) if theirs <= own => {}
                Some(_) => wrong.push(format!("{module} -> {dep} goes up a layer")),
                None => wrong.push(format!(
                    "{module} -> {dep}: production code uses a test-only module"
                )),
            }
        }
    }
    wrong
}

/// A circle of imports, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = path.iter().position(|m| m == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.clone());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn core_src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_depends_only_on_its_layer_or_lower_ones() {
    let graph = graph(&core_src());
    assert!(graph.len() > 20, "too few modules found: {graph:?}");
    let wrong = upward_edges(&graph);
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let graph = graph(&core_src());
    if let Some(circle) = cycle(&graph) {
        panic!("import cycle: {}", circle.join(" -> "));
    }
}

/// The checks themselves: each finds what it is there to find.
#[test]
fn the_checks_catch_an_upward_edge_and_a_circle() {
    let modules: BTreeSet<Module> = [
        "model/incident",
        "model/notice",
        "app/ports",
        "rules/remedy",
    ]
    .map(String::from)
    .into();
    let uses = dependencies(
        "use crate::app::ports::Clock;\nuse crate::{model::notice::Notice, Error};\n\
         #[cfg(test)]\nmod tests {\n    use crate::rules::remedy::choose;\n}\n",
        &modules,
    );
    assert_eq!(
        uses,
        ["app/ports", "error", "model/notice"]
            .map(String::from)
            .into(),
        "the test module's uses are not production edges"
    );

    let mut graph = BTreeMap::new();
    graph.insert("model/incident".to_owned(), uses);
    graph.insert(
        "model/notice".to_owned(),
        ["model/incident".to_owned()].into(),
    );
    assert_eq!(
        upward_edges(&graph),
        vec!["model/incident -> app/ports goes up a layer".to_owned()]
    );
    assert_eq!(
        cycle(&graph),
        Some(
            ["model/incident", "model/notice", "model/incident"]
                .map(String::from)
                .to_vec()
        )
    );
}
