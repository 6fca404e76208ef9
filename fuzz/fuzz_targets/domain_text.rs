//! Fuzz target: the domain's text parsers — resident ID numbers, mobile
//! numbers, yuan amounts, months, sign-in codes, roster dates. Must never
//! panic, and what parses must round-trip.
#![no_main]

use dangjian_domain::{dues, dues_ledger, meetings, resident_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
    if let Ok(id) = resident_id::ResidentId::parse(s) {
        // A parsed number parses again to the same person.
        let again = resident_id::ResidentId::parse(id.as_str()).expect("round trip");
        assert_eq!(again.birth_date(), id.birth_date());
        let _ = id.validate_at(today);
    }
    let _ = resident_id::ResidentId::parse_at(s, today);
    let _ = resident_id::validate_mobile(s);
    let _ = resident_id::mask_phone(s);
    if let Ok(fen) = dues::parse_yuan_to_fen(s) {
        assert!(fen >= 0);
    }
    let _ = dues_ledger::parse_month("month", s);
    let _ = meetings::is_code_shape(s);
    let _ = dangjian_roster::parse_date(s);
});
