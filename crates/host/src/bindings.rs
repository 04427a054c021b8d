//! Host-side bindings for the Spin interfaces (WIT under `crates/host/wit/`).

/// `fermyon:spin/{key-value,sqlite,variables,redis}@2.0.0`, imported by spin-sdk 5.2 components.
pub mod platform {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "spindle:host/platform",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/key-value.store": crate::key_value::StoreHandle,
            "fermyon:spin/sqlite.connection": crate::sqlite::ConnectionHandle,
            "fermyon:spin/redis.connection": crate::outbound_redis::ConnectionHandle,
        },
    });
}

/// `fermyon:spin/inbound-redis`, exported by `#[redis_component]` components.
pub mod redis_trigger {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "spindle:host/redis-trigger",
        exports: { default: async },
    });
}

pub use platform::fermyon::spin2_0_0 as spin;
