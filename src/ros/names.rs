//! ROS name resolution: relative and private (`~/`) names against the namespace and node name,
//! then remapping on fully qualified names, as rcl does.

/// The node's identity and remap rules.
#[derive(Clone, Debug)]
pub struct NameResolver {
    pub node: String,
    pub namespace: String,
    remaps: Vec<(String, String)>,
}

impl NameResolver {
    pub fn new(node: &str, namespace: &str, remaps: &[(String, String)]) -> Self {
        let namespace = normalise_ns(namespace);
        let mut r = NameResolver {
            node: node.to_string(),
            namespace,
            remaps: Vec::new(),
        };
        r.remaps = remaps
            .iter()
            .map(|(a, b)| (r.expand(a), r.expand(b)))
            .collect();
        r
    }

    /// `/ns/node`.
    pub fn fully_qualified_node(&self) -> String {
        join(&self.namespace, &self.node)
    }

    /// Expands `name` to a fully qualified name, without remapping.
    pub fn expand(&self, name: &str) -> String {
        if let Some(rest) = name.strip_prefix("~/") {
            join(&self.fully_qualified_node(), rest)
        } else if name == "~" {
            self.fully_qualified_node()
        } else if name.starts_with('/') {
            name.to_string()
        } else {
            join(&self.namespace, name)
        }
    }

    /// Expands and applies the first matching remap rule.
    pub fn resolve(&self, name: &str) -> String {
        let fq = self.expand(name);
        self.remaps
            .iter()
            .find(|(from, _)| *from == fq)
            .map(|(_, to)| to.clone())
            .unwrap_or(fq)
    }
}

fn normalise_ns(ns: &str) -> String {
    let t = ns.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else if t.starts_with('/') {
        t.into()
    } else {
        format!("/{t}")
    }
}

fn join(ns: &str, name: &str) -> String {
    if ns == "/" {
        format!("/{name}")
    } else {
        format!("{ns}/{name}")
    }
}
