//! `ndp bag info BAG --json`: storage, duration and topics of a rosbag2 bag.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use ndp_ros::bag::Bag;

#[derive(Subcommand)]
pub enum BagCmd {
    /// Storage, duration, and each topic's type and message count.
    Info {
        /// A bag directory (metadata.yaml + storage files), or a .mcap or .db3 file.
        bag: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: BagCmd) -> Result<()> {
    match cmd {
        BagCmd::Info { bag, json } => {
            let info = Bag::open(&bag)?.info()?;
            let value = serde_json::to_value(&info)?;
            if json {
                crate::print_json(&value);
            } else {
                eprintln!("{}", serde_json::to_string_pretty(&value)?);
            }
            Ok(())
        }
    }
}
