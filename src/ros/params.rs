//! ROS parameter values, parsed the way rcl parses `-p name:=value` and parameter files (YAML).

use std::collections::BTreeMap;

/// A parameter value of one of the ROS 2 parameter types.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Bool(bool),
    Integer(i64),
    Double(f64),
    String(String),
    BoolArray(Vec<bool>),
    IntegerArray(Vec<i64>),
    DoubleArray(Vec<f64>),
    StringArray(Vec<String>),
}

/// Parameters by fully dotted name.
pub type ParamMap = BTreeMap<String, ParamValue>;

impl ParamValue {
    /// Converts one YAML value; `None` for maps, nulls and mixed arrays.
    pub fn from_yaml(v: &serde_yaml::Value) -> Option<ParamValue> {
        use serde_yaml::Value as Y;
        Some(match v {
            Y::Bool(b) => ParamValue::Bool(*b),
            Y::Number(n) if n.is_i64() => ParamValue::Integer(n.as_i64()?),
            Y::Number(n) => ParamValue::Double(n.as_f64()?),
            Y::String(s) => ParamValue::String(s.clone()),
            Y::Sequence(items) => {
                if items.is_empty() {
                    return Some(ParamValue::StringArray(vec![]));
                }
                if items.iter().all(|i| i.is_bool()) {
                    ParamValue::BoolArray(items.iter().filter_map(|i| i.as_bool()).collect())
                } else if items.iter().all(|i| i.is_i64()) {
                    ParamValue::IntegerArray(items.iter().filter_map(|i| i.as_i64()).collect())
                } else if items.iter().all(|i| i.is_number()) {
                    ParamValue::DoubleArray(items.iter().filter_map(|i| i.as_f64()).collect())
                } else if items.iter().all(|i| i.is_string()) {
                    ParamValue::StringArray(
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(String::from))
                            .collect(),
                    )
                } else {
                    return None;
                }
            }
            _ => return None,
        })
    }

    /// Parses the value of `-p name:=value` as YAML, as rcl does (`5` is an integer, `5.0` a
    /// double, `[a, b]` a string array, anything unparsable a string), with rcl's YAML 1.1
    /// booleans: a plain `y`, `yes`, `on` (any of rcl's spellings) is true, `n`, `no`, `off`
    /// false (serde_yaml, YAML 1.2, would keep them strings). In a sequence and in parameter
    /// files they stay strings here (serde_yaml does not tell plain from quoted there), so
    /// `[x, y, z]` is a string array where rcl refuses the mixed sequence.
    pub fn parse(text: &str) -> ParamValue {
        const TRUE: [&str; 11] = [
            "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ];
        const FALSE: [&str; 11] = [
            "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ];
        let t = text.trim();
        if TRUE.contains(&t) {
            return ParamValue::Bool(true);
        }
        if FALSE.contains(&t) {
            return ParamValue::Bool(false);
        }
        serde_yaml::from_str::<serde_yaml::Value>(text)
            .ok()
            .and_then(|v| ParamValue::from_yaml(&v))
            .unwrap_or_else(|| ParamValue::String(text.to_string()))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            ParamValue::Bool(_) => "bool",
            ParamValue::Integer(_) => "integer",
            ParamValue::Double(_) => "double",
            ParamValue::String(_) => "string",
            ParamValue::BoolArray(_) => "bool array",
            ParamValue::IntegerArray(_) => "integer array",
            ParamValue::DoubleArray(_) => "double array",
            ParamValue::StringArray(_) => "string array",
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Integer(v) => write!(f, "{v}"),
            ParamValue::Double(v) => write!(f, "{v}"),
            ParamValue::String(v) => write!(f, "'{v}'"),
            ParamValue::BoolArray(v) => write!(f, "{v:?}"),
            ParamValue::IntegerArray(v) => write!(f, "{v:?}"),
            ParamValue::DoubleArray(v) => write!(f, "{v:?}"),
            ParamValue::StringArray(v) => write!(f, "{v:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ParamValue as V;

    #[test]
    fn command_line_values_are_typed_as_rcl_types_them() {
        for (text, want) in [
            ("5", V::Integer(5)),
            ("5.0", V::Double(5.0)),
            ("yes", V::Bool(true)),
            ("On", V::Bool(true)),
            ("y", V::Bool(true)),
            ("off", V::Bool(false)),
            ("'yes'", V::String("yes".into())),
            ("yesterday", V::String("yesterday".into())),
            ("[a, b]", V::StringArray(vec!["a".into(), "b".into()])),
            ("[1.0, 2]", V::DoubleArray(vec![1.0, 2.0])),
        ] {
            assert_eq!(V::parse(text), want, "{text}");
        }
    }
}
