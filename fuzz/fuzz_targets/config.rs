//! `ConfigStore::parse`: never panics on any text; a config it accepts, serialized the
//! way the store writes it, loads back and writes out the same again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_gateway::config::ConfigStore;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let store = ConfigStore::new("/nonexistent/llm-gateway-fuzz/config.yaml");
    let Ok(config) = store.parse(text) else {
        return;
    };
    let written = serde_yaml::to_string(&config)
        .unwrap_or_else(|e| panic!("an accepted config does not serialize: {e}\n{config:?}"));
    let again = store
        .parse(&written)
        .unwrap_or_else(|e| panic!("a written config does not load back: {e}\n{written}"));
    let rewritten = serde_yaml::to_string(&again).expect("serialize again");
    assert_eq!(rewritten, written, "the config changes on a second write");
});
