//! Fuzz target: any bytes as an XLSX roster (zip container, shared strings,
//! cell types). Must never panic out of `check_roster_file`, nor abort.
//!
//! `read_xlsx` catches a panic inside calamine (a third-party parser of
//! untrusted bytes: a crafted cell reference overflows its column
//! arithmetic, which panics in this build with overflow checks) and refuses
//! the file. libfuzzer-sys's panic hook aborts on every panic, even a caught
//! one, so this target installs its own hook: silent for a panic located in
//! calamine's sources, the standard report otherwise. A panic that escapes
//! `check_roster_file` still aborts the run (libfuzzer-sys catches it at the
//! boundary and aborts), and so does a failed allocation.
#![no_main]

use std::sync::Once;

use dangjian_roster::{RosterFormat, check_roster_file};
use libfuzzer_sys::fuzz_target;

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_calamine = info
                .location()
                .is_some_and(|l| l.file().contains("/calamine-"));
            if !in_calamine {
                report(info);
            }
        }));
    });
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
    let _ = check_roster_file(RosterFormat::Xlsx, data, today);
});
