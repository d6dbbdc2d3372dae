//! The codebook experiment's parts: its configuration, the images, the quantiser of a run, the
//! training loop, the rows, the table and the curves. `protocol::codebook` runs it.

pub mod config;
pub(crate) mod curves;
pub(crate) mod images;
pub(crate) mod quantiser;
pub mod results;
pub(crate) mod table;
pub(crate) mod train;
