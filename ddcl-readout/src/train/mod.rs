//! Joint training of encoder, prototypes and task head under the timescale condition.
//!
//! The parts, each depending only on those listed before it: the [`Encode`] trait, the
//! [`Classifier`] (and the variable prefixes it lays out), the records a run logs, the JSONL
//! step log, the optimiser groups, the timescale policy, the labels check, the trainer's state
//! in a checkpoint, and the [`Trainer`] that drives them.

mod classifier;
mod encode;
mod groups;
mod identity;
mod labels;
mod record;
mod state;
mod steplog;
mod timescale;
mod trainer;

pub use classifier::{Classifier, ENCODER};
pub use encode::Encode;
pub use identity::{IdentityTally, F32_TOLERANCE, F64_TOLERANCE};
pub use record::{EpochRecord, StepRecord, TimescaleRecord};
pub use state::TrainingState;
pub use trainer::Trainer;
