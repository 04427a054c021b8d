//! Media: what an uploaded file is ([`probe`]), and where its bytes live ([`storage`], over
//! the [`sqlite`] and [`s3`] backends).

pub mod probe;
pub mod s3;
pub mod sqlite;
pub mod storage;
