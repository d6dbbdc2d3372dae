//! Bad settings are typed errors naming the key; good ones round-trip through YAML.

use ddcl_hier::{Error, FitConfig, HierConfig};

const GOOD: &str = "chunk: {window: 30, overlap: 4, sentence_ends: [5], batch: 8}
levels:
  - readout: {prototypes: 8, tau: 1.0}
  - readout: {prototypes: 4, tau: 0.5}
    group: 3
  - readout: {prototypes: 2, tau: 0.5, pooling: [mixture, mean]}
";

fn key_of(err: &Error) -> String {
    match err {
        Error::Readout(ddcl_readout::Error::OutOfRange { key, .. })
        | Error::Readout(ddcl_readout::Error::Config { key, .. }) => key.clone(),
        Error::Readout(ddcl_readout::Error::Empty { what }) => what.clone(),
        other => panic!("not a keyed error: {other:?}"),
    }
}

#[test]
fn a_good_config_round_trips() {
    let cfg = HierConfig::from_yaml(GOOD).unwrap();
    assert_eq!(cfg.levels[1].group, Some(3));
    assert_eq!(cfg.chunk.sentence_ends, [5]);
    assert_eq!(HierConfig::from_yaml(&cfg.to_yaml().unwrap()).unwrap(), cfg);
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("window: 30, overlap: 4", "window: 0", "chunk.window"),
        (
            "window: 30, overlap: 4",
            "window: 30, overlap: 30",
            "chunk.overlap",
        ),
        ("batch: 8", "batch: 0", "chunk.batch"),
        (
            "prototypes: 8, tau: 1.0",
            "prototypes: 8, tau: -1.0",
            "levels[0].readout.tau",
        ),
        (
            "prototypes: 4, tau: 0.5",
            "prototypes: 0, tau: 0.5",
            "levels[1].readout.prototypes",
        ),
        ("group: 3", "group: 1", "levels[1].group"),
        (
            "pooling: [mixture, mean]",
            "pooling: []",
            "levels[2].readout.pooling",
        ),
        (
            "prototypes: 8, tau: 1.0",
            "prototypes: 8, tau: 1.0, init_std: 0.0",
            "levels[0].readout.init_std",
        ),
    ];
    for (from, to, key) in cases {
        assert!(GOOD.contains(from), "{from}");
        let err = HierConfig::from_yaml(&GOOD.replacen(from, to, 1)).unwrap_err();
        assert_eq!(key_of(&err), key, "{to}: {err}");
    }
    let err = HierConfig::from_yaml(&format!("{GOOD}utilisation_threshold: 1.0\n")).unwrap_err();
    assert_eq!(key_of(&err), "utilisation_threshold");
}

#[test]
fn groups_belong_to_middle_levels_only() {
    // a middle level without a group
    let err = HierConfig::from_yaml(&GOOD.replacen("    group: 3\n", "", 1)).unwrap_err();
    assert_eq!(key_of(&err), "levels[1].group");
    // a group on level 1 or on the top level
    let on_first = GOOD.replacen(
        "  - readout: {prototypes: 8, tau: 1.0}\n",
        "  - readout: {prototypes: 8, tau: 1.0}\n    group: 2\n",
        1,
    );
    assert_eq!(
        key_of(&HierConfig::from_yaml(&on_first).unwrap_err()),
        "levels[0].group"
    );
    let on_top = format!("{GOOD}    group: 2\n");
    assert_eq!(
        key_of(&HierConfig::from_yaml(&on_top).unwrap_err()),
        "levels[2].group"
    );
}

#[test]
fn one_level_is_not_a_hierarchy() {
    let err = HierConfig::from_yaml(
        "chunk: {window: 4}\nlevels:\n  - readout: {prototypes: 2, tau: 1.0}\n",
    )
    .unwrap_err();
    assert_eq!(key_of(&err), "levels (their number)");
}

#[test]
fn unknown_keys_are_refused() {
    for bad in [
        GOOD.replacen("batch: 8", "batch: 8, windw: 3", 1),
        GOOD.replacen("group: 3", "group: 3\n    grup: 3", 1),
        format!("{GOOD}level: 3\n"),
    ] {
        let err = HierConfig::from_yaml(&bad).unwrap_err();
        assert!(
            matches!(err, Error::Readout(ddcl_readout::Error::Yaml { .. })),
            "{err:?}"
        );
    }
}

#[test]
fn fit_settings_are_checked() {
    let cases = [
        (
            FitConfig {
                batch: 0,
                ..Default::default()
            },
            "fit.batch",
        ),
        (
            FitConfig {
                lr: 0.0,
                ..Default::default()
            },
            "fit.lr",
        ),
        (
            FitConfig {
                tau: Some(f64::NAN),
                ..Default::default()
            },
            "fit.tau",
        ),
    ];
    for (fit, key) in cases {
        assert_eq!(key_of(&fit.validate().unwrap_err()), key);
    }
}
