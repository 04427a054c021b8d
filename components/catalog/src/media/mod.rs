//! Media: what an uploaded file is ([`probe`]), and where its bytes live ([`storage`]).

pub mod probe;
pub mod storage;
