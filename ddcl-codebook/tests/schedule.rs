//! Temperature schedules at known steps, and the relative temperature.

mod common;

use ddcl_codebook::{DdclCodebook, DdclConfig, Quantizer, TauSchedule, Temperature};

use common::{clustered, fresh, rows};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn schedules_take_their_values_at_known_steps() {
    let c = TauSchedule::Constant(0.7);
    assert_eq!((c.at(0), c.at(10_000)), (0.7, 0.7));

    let l = TauSchedule::Linear {
        start: 2.0,
        end: 0.5,
        steps: 100,
    };
    assert!(close(l.at(0), 2.0) && close(l.at(25), 1.625) && close(l.at(50), 1.25));
    assert_eq!((l.at(100), l.at(500)), (0.5, 0.5));

    let e = TauSchedule::Exponential {
        start: 1.0,
        end: 1e-3,
        steps: 300,
    };
    assert!(close(e.at(0), 1.0) && close(e.at(100), 0.1) && close(e.at(200), 0.01));
    assert_eq!(e.at(300), 1e-3);

    let cos = TauSchedule::Cosine {
        start: 1.0,
        end: 0.2,
        steps: 10,
    };
    assert!(close(cos.at(0), 1.0) && close(cos.at(5), 0.6));
    // a fifth of the way: end + (start - end)(1 + cos(pi / 5)) / 2
    let fifth = 0.2 + 0.8 * (1.0 + (std::f64::consts::PI / 5.0).cos()) / 2.0;
    assert!(close(cos.at(2), fifth));
    assert_eq!((cos.at(10), cos.at(11)), (0.2, 0.2));

    // a ramp of zero steps is at its end at once
    assert_eq!(
        TauSchedule::Linear {
            start: 3.0,
            end: 1.0,
            steps: 0
        }
        .at(0),
        1.0
    );
}

#[test]
fn codebook_follows_its_schedule_step_by_step() {
    let mut cfg = DdclConfig::new(4);
    cfg.temperature = Temperature::fixed(TauSchedule::Exponential {
        start: 1.0,
        end: 0.01,
        steps: 2,
    });
    let (_map, vb) = fresh();
    let mut cb = DdclCodebook::new(3, &cfg, vb).unwrap();
    let (z, _) = clustered(2, 8, 3, 4, 0.3, 0);
    let taus: Vec<f64> = (0..4)
        .map(|_| cb.quantize(&z, true).unwrap().parts.tau.unwrap())
        .collect();
    assert!(close(taus[0], 1.0) && close(taus[1], 0.1));
    assert_eq!((taus[2], taus[3]), (0.01, 0.01));
    // evaluation does not advance the schedule
    cb.quantize(&z, false).unwrap();
    assert_eq!(cb.step(), 4);
}

#[test]
fn relative_temperature_is_kappa_times_the_mean_nearest_squared_distance() {
    let mut cfg = DdclConfig::new(4);
    cfg.temperature = Temperature::relative(TauSchedule::Constant(0.5), 1e-9);
    let (map, vb) = fresh();
    let mut cb = DdclCodebook::new(3, &cfg, vb).unwrap();
    let (z, _) = clustered(2, 8, 3, 4, 0.3, 0);
    let (codes, points) = (rows(cb.codes()), rows(&z.flatten_to(1).unwrap()));
    let nearest = |p: &Vec<f64>, codes: &Vec<Vec<f64>>| {
        codes
            .iter()
            .map(|c| c.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
            .fold(f64::INFINITY, f64::min)
    };
    let scale = points.iter().map(|p| nearest(p, &codes)).sum::<f64>() / points.len() as f64;
    let tau = cb.quantize(&z, true).unwrap().parts.tau.unwrap();
    assert!(
        (tau - 0.5 * scale).abs() < 1e-5 * tau,
        "{tau} vs {}",
        0.5 * scale
    );

    // shrinking latents and codes by 10 shrinks the squared distances, and tau, by 100
    let before = cb.tau(&z).unwrap();
    let codes = (cb.codes() * 0.1).unwrap();
    map.data().lock().unwrap()["codes"].set(&codes).unwrap();
    let after = cb.tau(&(&z * 0.1).unwrap()).unwrap();
    assert!(
        (after * 100.0 - before).abs() < 1e-4 * before,
        "{before} vs {after}"
    );
}
