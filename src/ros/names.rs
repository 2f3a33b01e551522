//! ROS name resolution: relative and private (`~/`) names against the namespace and node name,
//! then remapping on fully qualified names, as rcl does; and ROS 2's name validity rules (rmw's
//! `rmw_validate_full_topic_name`, `rmw_validate_namespace`, `rmw_validate_node_name`), so that a
//! bad name in a config is refused with the key that holds it, before any transport sees it.

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

/// The longest fully qualified topic name rmw accepts (`RMW_TOPIC_MAX_NAME_LENGTH`, 255 - 8).
pub const TOPIC_MAX_LEN: usize = 247;
/// The longest namespace (`RMW_NAMESPACE_MAX_LENGTH`).
pub const NAMESPACE_MAX_LEN: usize = 245;
/// The longest node name (`RMW_NODE_NAME_MAX_NAME_LENGTH`).
pub const NODE_NAME_MAX_LEN: usize = 255;

/// Why a name is not a valid ROS 2 name: the rule it breaks, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidName(pub String);

impl std::fmt::Display for InvalidName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidName {}

fn invalid<T>(why: impl Into<String>) -> Result<T, InvalidName> {
    Err(InvalidName(why.into()))
}

/// A fully qualified topic name by rmw's rules: absolute, tokens of ASCII letters, digits and
/// `_` separated by single `/`, no token starting with a digit, no trailing `/`, at most
/// 247 characters.
pub fn validate_full_topic_name(name: &str) -> Result<(), InvalidName> {
    absolute_name(name, "topic name", TOPIC_MAX_LEN, false)
}

/// A namespace: as a fully qualified topic name, but `/` alone is valid, at most 245 characters.
pub fn validate_namespace(ns: &str) -> Result<(), InvalidName> {
    absolute_name(ns, "namespace", NAMESPACE_MAX_LEN, true)
}

/// A topic name as a node may be given it: absolute, relative (to the node's namespace) or
/// private (`~`, `~/...`), valid once expanded (rcl's `rcl_validate_topic_name`, then the full
/// name's rules). rcl's `{node}` / `{ns}` substitutions are refused: this package's resolver
/// does not expand them.
pub fn validate_topic_name(name: &str) -> Result<(), InvalidName> {
    if name.is_empty() {
        return invalid("a topic name must not be empty");
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '{' | '}')) {
        return invalid(format!(
            "`{c}`: substitutions such as `{{node}}` are not supported here"
        ));
    }
    if let Some(i) = name.rfind('~') {
        if i != 0 || !(name == "~" || name.starts_with("~/")) {
            return invalid("`~` may only start a name, as `~` or `~/...`");
        }
    }
    // Expanded under a stand-in node `/n`: the result is what rmw checks.
    let expanded = NameResolver::new("n", "/", &[]).expand(name);
    validate_full_topic_name(&expanded)
}

/// A node name: ASCII letters, digits and `_`, not starting with a digit, at most 255
/// characters.
pub fn validate_node_name(name: &str) -> Result<(), InvalidName> {
    if name.is_empty() {
        return invalid("a node name must not be empty");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return invalid(format!(
            "`{c}`: a node name may only hold letters, digits and `_`"
        ));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return invalid("a node name must not start with a digit");
    }
    if name.len() > NODE_NAME_MAX_LEN {
        return invalid(format!("longer than {NODE_NAME_MAX_LEN} characters"));
    }
    Ok(())
}

fn absolute_name(name: &str, what: &str, max_len: usize, root_ok: bool) -> Result<(), InvalidName> {
    if name.is_empty() {
        return invalid(format!("a {what} must not be empty"));
    }
    if !name.starts_with('/') {
        return invalid(format!("a {what} must be absolute (start with `/`)"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '/'))
    {
        return invalid(format!(
            "`{c}`: a {what} may only hold letters, digits, `_` and `/`"
        ));
    }
    if name == "/" {
        return if root_ok {
            Ok(())
        } else {
            invalid(format!("a {what} must not end with `/`"))
        };
    }
    if name.ends_with('/') {
        return invalid(format!("a {what} must not end with `/`"));
    }
    if name.contains("//") {
        return invalid(format!("a {what} must not contain `//` (an empty token)"));
    }
    if let Some(t) = name[1..]
        .split('/')
        .find(|t| t.starts_with(|c: char| c.is_ascii_digit()))
    {
        return invalid(format!("token `{t}` starts with a digit"));
    }
    if name.len() > max_len {
        return invalid(format!("longer than {max_len} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_topic_names_follow_rmw() {
        for ok in ["/a", "/joint_states", "/a_/_b", "/a__b", "/A/b9/c_1", "/_x"] {
            assert_eq!(validate_full_topic_name(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("a", "absolute"),
            ("/", "end with"),
            ("/a/", "end with"),
            ("/a//b", "`//`"),
            (
                "/model/gantry/joint/x/0/cmd_pos",
                "token `0` starts with a digit",
            ),
            ("/1a", "token `1a`"),
            ("/a-b", "`-`"),
            ("/a?", "`?`"),
            ("/é", "`é`"),
            ("/~/a", "`~`"),
        ] {
            let e = validate_full_topic_name(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("/{}", "a".repeat(246));
        assert_eq!(validate_full_topic_name(&long), Ok(()));
        assert!(validate_full_topic_name(&format!("{long}a")).is_err());
    }

    #[test]
    fn relative_and_private_topic_names_are_checked_expanded() {
        for ok in ["joint_states", "a/b", "~", "~/cmd", "/abs"] {
            assert_eq!(validate_topic_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "a//b", "a/", "1a", "a/0", "~x", "a/~/b", "{node}/x", "a b",
        ] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_and_node_names() {
        for ok in ["/", "/robot0", "/a/b"] {
            assert_eq!(validate_namespace(ok), Ok(()), "{ok}");
        }
        for bad in ["", "robot", "/0", "/a/", "/a//b"] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
        assert_eq!(validate_namespace(&format!("/{}", "a".repeat(244))), Ok(()));
        assert!(validate_namespace(&format!("/{}", "a".repeat(245))).is_err());
        for ok in ["x", "ndp_policy", "_a1"] {
            assert_eq!(validate_node_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "1x", "a-b", "a/b", "~"] {
            assert!(validate_node_name(bad).is_err(), "{bad}");
        }
        assert!(validate_node_name(&"a".repeat(256)).is_err());
    }
}
