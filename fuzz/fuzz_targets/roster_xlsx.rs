//! Fuzz target: any bytes as an XLSX roster (zip container, shared strings,
//! cell types). Must never panic.
#![no_main]

use dangjian_roster::{RosterFormat, check_roster_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
    let _ = check_roster_file(RosterFormat::Xlsx, data, today);
});
