//! The .msg text of every message type, for rosbag2 MCAP schemas (encoding `ros2msg`): the
//! type's own fields, then each nested type once, depth first, after a line of 80 `=` and
//! `MSG: pkg/Name` (the layout rosbag2 and rosbags write).

/// Fields of one type (comments and defaults left out).
fn own(ros_type: &str) -> Option<&'static str> {
    Some(match ros_type {
        "builtin_interfaces/msg/Time" | "builtin_interfaces/msg/Duration" => {
            "int32 sec\nuint32 nanosec\n"
        }
        "std_msgs/msg/Header" => "builtin_interfaces/Time stamp\nstring frame_id\n",
        "std_msgs/msg/MultiArrayDimension" => "string label\nuint32 size\nuint32 stride\n",
        "std_msgs/msg/MultiArrayLayout" => "std_msgs/MultiArrayDimension[] dim\nuint32 data_offset\n",
        "std_msgs/msg/Float64" => "float64 data\n",
        "std_msgs/msg/Float64MultiArray" => "std_msgs/MultiArrayLayout layout\nfloat64[] data\n",
        "sensor_msgs/msg/JointState" => {
            "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n"
        }
        "sensor_msgs/msg/Image" => {
            "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\nuint32 step\nuint8[] data\n"
        }
        "geometry_msgs/msg/Point" => "float64 x\nfloat64 y\nfloat64 z\n",
        "geometry_msgs/msg/Quaternion" => "float64 x\nfloat64 y\nfloat64 z\nfloat64 w\n",
        "geometry_msgs/msg/Pose" => {
            "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation\n"
        }
        "geometry_msgs/msg/PoseStamped" => "std_msgs/Header header\ngeometry_msgs/Pose pose\n",
        "trajectory_msgs/msg/JointTrajectoryPoint" => {
            "float64[] positions\nfloat64[] velocities\nfloat64[] accelerations\nfloat64[] effort\nbuiltin_interfaces/Duration time_from_start\n"
        }
        "trajectory_msgs/msg/JointTrajectory" => {
            "std_msgs/Header header\nstring[] joint_names\ntrajectory_msgs/JointTrajectoryPoint[] points\n"
        }
        "rosgraph_msgs/msg/Clock" => "builtin_interfaces/Time clock\n",
        "ndp_ros_msgs/msg/DmpPlan" => {
            "std_msgs/Header header\nstring[] joint_names\nfloat64[] y0\nfloat64[] dy0\nfloat64[] g\nfloat64[] w\nuint32 n_basis\nuint32 k\nfloat64 a_z\nfloat64 a_x\nfloat64 dt\n"
        }
        _ => return None,
    })
}

/// `pkg/Name` field types of a definition, as `pkg/msg/Name`, in order.
fn nested(def: &str) -> impl Iterator<Item = String> + '_ {
    def.lines().filter_map(|l| {
        let ty = l.split_whitespace().next()?;
        let ty = ty.split('[').next()?;
        let (pkg, name) = ty.split_once('/')?;
        Some(format!("{pkg}/msg/{name}"))
    })
}

/// The full `ros2msg` schema of `ros_type` (e.g. `sensor_msgs/msg/JointState`), or None for a
/// type this package does not define.
pub fn schema(ros_type: &str) -> Option<String> {
    let mut text = own(ros_type)?.to_string();
    let mut seen = vec![ros_type.to_string()];
    let mut stack: Vec<String> = nested(own(ros_type)?).collect();
    stack.reverse();
    while let Some(t) = stack.pop() {
        if seen.contains(&t) {
            continue;
        }
        let def = own(&t)?;
        text.push_str(&"=".repeat(80));
        text.push_str(&format!("\nMSG: {}\n{def}", t.replacen("/msg/", "/", 1)));
        let mut kids: Vec<String> = nested(def).collect();
        kids.reverse();
        stack.extend(kids);
        seen.push(t);
    }
    Some(text)
}
