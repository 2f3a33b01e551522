//! The launch files, run without ROS: test/launch/check_launch.py replaces `launch` and
//! `launch_ros` with stand-ins, then runs the `ndp` commands they start (collect, train-bc,
//! train-ppo) as launch_ros would, `--ros-args` included, and checks their outputs.

#[test]
fn launch_files_start_working_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .arg("test/launch/check_launch.py")
        .arg(dir.path())
        .env("NDP_BIN", env!("CARGO_BIN_EXE_ndp"))
        .output()
        .expect("python3 runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("launch files ok"));
}
