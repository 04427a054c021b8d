//! Loading an application: manifest + runtime config → compiled, pre-instantiated components
//! and the shared state every instance draws on; `up` starts the triggers.

use crate::allowed_hosts::{AllowedHosts, convert_allowed_http_hosts};
use crate::bindings::{platform, redis_trigger};
use crate::key_value::{self, KeyValue, Stores};
use crate::logs::ComponentLogs;
use crate::manifest::{LoadedManifest, RouteSpec, StaticResponse};
use crate::outbound_http::OutboundHttp;
use crate::outbound_redis::{self, Connections, OutboundRedis};
use crate::routes::Router;
use crate::runtime_config::{LoadedRuntimeConfig, VariablesProvider, non_empty};
use crate::sqlite::{self, Databases, Sqlite};
use crate::variables::{self, Provider, Resolver, Template, Variables};
use crate::{engine, files, trigger_http, trigger_redis};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use wasmtime::component::{InstancePre, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How to run an application: the equivalent of `spin up`'s flags.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// `spin.toml`, or the directory holding it.
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    pub listen: SocketAddr,
    /// `--state-dir`; `Some("")` means no state directory (in-memory defaults).
    pub state_dir: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
    /// `--variable NAME=VALUE`, the first provider asked.
    pub variables: Vec<(String, String)>,
    /// The environment the `SPIN_VARIABLE_*` provider reads; `None` for the process's own.
    pub env: Option<HashMap<String, String>>,
    /// Echo component output to the host's stderr (`spin up` follows all by default).
    pub follow_logs: bool,
}

impl UpOptions {
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            runtime_config: None,
            listen: "127.0.0.1:3000".parse().unwrap(),
            state_dir: None,
            log_dir: None,
            variables: Vec::new(),
            env: None,
            follow_logs: true,
        }
    }
}

/// A loaded application, shared by every request and message it serves.
pub struct App {
    pub(crate) engine: Engine,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) components: HashMap<String, Arc<ComponentRuntime>>,
    pub(crate) router: Router,
    pub(crate) static_responses: HashMap<String, StaticResponse>,
    /// `(route, component)` for every public HTTP route, in manifest order.
    public_routes: Vec<(String, String)>,
    /// Components with an HTTP trigger, public or private: the targets of service chaining.
    pub(crate) http_components: HashSet<String>,
    pub(crate) redis_triggers: Vec<RedisSubscription>,
    pub(crate) listen_addr: OnceLock<SocketAddr>,
    stores: Arc<Stores>,
    databases: Arc<Databases>,
    redis: Arc<Connections>,
    resolver: Arc<Resolver>,
    /// Holds copies of `files` mounts; removed when the app is dropped.
    _work_dir: tempfile::TempDir,
}

/// One `[[trigger.redis]]` after templates are resolved.
pub(crate) struct RedisSubscription {
    pub address: String,
    pub channel: String,
    pub component: String,
}

/// A component ready to instantiate, with everything its instances are allowed to use.
pub struct ComponentRuntime {
    pub id: Arc<str>,
    pub(crate) pre: InstancePre<InstanceState>,
    pub(crate) proxy: Option<ProxyPre<InstanceState>>,
    pub(crate) redis: Option<redis_trigger::RedisTriggerPre<InstanceState>>,
    allowed_hosts: Arc<AllowedHosts>,
    key_value_labels: Arc<HashSet<String>>,
    sqlite_labels: Arc<HashSet<String>>,
    variables: Arc<BTreeMap<String, Template>>,
    environment: Vec<(String, String)>,
    files_dir: Option<PathBuf>,
    logs: ComponentLogs,
}

/// The data of one instance's `Store`: each capability keeps its own slice.
pub struct InstanceState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    pub(crate) outbound_http: OutboundHttp,
    key_value: key_value::InstanceState,
    sqlite: sqlite::InstanceState,
    variables: variables::InstanceState,
    redis: outbound_redis::InstanceState,
    limits: StoreLimits,
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}

fn linker(engine: &Engine) -> Result<Linker<InstanceState>> {
    let mut linker: Linker<InstanceState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    use platform::fermyon::spin2_0_0 as spin;
    spin::key_value::add_to_linker::<_, KeyValue>(&mut linker, |s| &mut s.key_value)?;
    spin::sqlite::add_to_linker::<_, Sqlite>(&mut linker, |s| &mut s.sqlite)?;
    spin::variables::add_to_linker::<_, Variables>(&mut linker, |s| &mut s.variables)?;
    spin::redis::add_to_linker::<_, OutboundRedis>(&mut linker, |s| &mut s.redis)?;
    // `fermyon:spin/redis-types` holds only types; Redis-triggered components import it.
    linker.instance("fermyon:spin/redis-types")?;
    Ok(linker)
}

impl App {
    pub async fn load(opts: &UpOptions) -> Result<Arc<App>> {
        let loaded = LoadedManifest::load(&opts.manifest)?;
        let runtime = LoadedRuntimeConfig::load(opts.runtime_config.as_deref())?;
        let manifest = &loaded.manifest;

        let state_dir = resolve_dir(
            opts.state_dir.as_deref(),
            runtime.config.state_dir.as_deref(),
            Some(loaded.dir.join(".spin")),
        )?;
        let log_dir = resolve_dir(
            opts.log_dir.as_deref(),
            runtime.config.log_dir.as_deref(),
            state_dir.as_ref().map(|d| d.join("logs")),
        )?;
        if let Some(dir) = &log_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create log directory {}", dir.display()))?;
        }

        let resolver = Arc::new(build_resolver(manifest, &runtime, opts)?);
        resolver.check_required()?;

        let stores = Arc::new(
            Stores::new(
                &runtime.config.key_value_store,
                &runtime.base_dir(),
                state_dir.as_deref(),
            )
            .await?,
        );
        let databases = Arc::new(Databases::new(
            &runtime.config.sqlite_database,
            state_dir.as_deref(),
        )?);
        let work_dir = tempfile::Builder::new().prefix("spinup-").tempdir()?;

        let engine = engine::shared_engine()?;
        let linker = linker(&engine)?;
        let component_ids: Vec<String> = manifest.component.keys().cloned().collect();

        let http_components: HashSet<String> = manifest
            .trigger
            .http
            .iter()
            .filter_map(|t| t.component.clone())
            .collect();
        let static_responses: HashMap<String, StaticResponse> = manifest
            .trigger
            .http
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.static_response.clone().map(|r| (t.target(i), r)))
            .collect();
        let redis_components: HashSet<String> = manifest
            .trigger
            .redis
            .iter()
            .map(|t| t.component.clone())
            .collect();

        let cx = LoadContext {
            loaded: &loaded,
            engine: &engine,
            linker: &linker,
            resolver: &resolver,
            stores: &stores,
            databases: &databases,
            component_ids: &component_ids,
            assets_dir: work_dir.path().join("assets"),
            log_dir: log_dir.as_deref(),
            follow_logs: opts.follow_logs,
        };
        let mut components = HashMap::new();
        for id in manifest.component.keys() {
            // Spin loads only components that some trigger uses.
            let (http, redis) = (http_components.contains(id), redis_components.contains(id));
            if http || redis {
                components.insert(id.clone(), Arc::new(cx.load_component(id, http, redis)?));
            }
        }

        let public_routes: Vec<(String, String)> = manifest
            .trigger
            .http
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.route {
                RouteSpec::Route(route) => Some((t.target(i), route.clone())),
                RouteSpec::Private { .. } => None,
            })
            .collect();
        for (i, trigger) in manifest.trigger.http.iter().enumerate() {
            if let RouteSpec::Private { private: false } = trigger.route {
                bail!(
                    "route must be a string pattern or '{{ private = true }}': '{}' has {{ private = false }}",
                    trigger.target(i)
                );
            }
        }
        if let Some(http) = &manifest.application.trigger.http
            && let Some(base) = &http.base
            && base != "/"
        {
            bail!(
                "This application is using the deprecated trigger 'base' field. The base must be \
                 prepended to each [[trigger.http]]'s 'route'."
            );
        }
        let (router, warnings) = Router::build(public_routes.clone())?;
        for warning in warnings {
            tracing::error!("{warning}");
        }

        let mut redis_triggers = Vec::new();
        for trigger in &manifest.trigger.redis {
            let address = match (&trigger.address, &manifest.application.trigger.redis) {
                (Some(a), _) => a.clone(),
                (None, Some(app)) => app.address.clone(),
                (None, None) => unreachable!("validated with the manifest"),
            };
            redis_triggers.push(RedisSubscription {
                address: resolver.render_str(&address, "redis trigger address")?,
                channel: resolver.render_str(&trigger.channel, "redis trigger channel")?,
                component: trigger.component.clone(),
            });
        }

        if let Some(dir) = &state_dir {
            tracing::info!(
                "Storing default key-value and SQLite data in {}",
                dir.display()
            );
        }
        Ok(Arc::new(App {
            engine,
            name: manifest.application.name.clone(),
            version: manifest.application.version.clone(),
            components,
            router,
            static_responses,
            public_routes: public_routes.into_iter().map(|(c, r)| (r, c)).collect(),
            http_components,
            redis_triggers,
            listen_addr: OnceLock::new(),
            stores,
            databases,
            redis: Arc::new(Connections),
            resolver,
            _work_dir: work_dir,
        }))
    }

    /// A fresh store for one instance of `component`.
    pub(crate) fn new_store(
        self: &Arc<Self>,
        component: &Arc<ComponentRuntime>,
        inbound_scheme: &'static str,
    ) -> Result<Store<InstanceState>> {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(component.logs.stdout.clone())
            .stderr(component.logs.stderr.clone())
            .envs(&component.environment)
            .allow_ip_name_lookup(true)
            .allow_udp(false)
            .allow_tcp(true);
        let allowed = component.allowed_hosts.clone();
        // TCP connects go only where `tcp://` rules allow (matched against the resolved
        // address, as Spin); the implicit bind to an ephemeral port before a connect is fine,
        // listening on a chosen one is not.
        wasi.socket_addr_check(move |addr, usage| {
            let ok = match usage {
                SocketAddrUse::TcpConnect => allowed.allows_tcp(addr),
                SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                _ => false,
            };
            Box::pin(async move { ok })
        });
        if let Some(dir) = &component.files_dir {
            wasi.preopened_dir(dir, "/", FsPerms::ReadOnly)?;
        }
        let state = InstanceState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            outbound_http: OutboundHttp::new(
                self.clone(),
                component.allowed_hosts.clone(),
                inbound_scheme,
            ),
            key_value: key_value::InstanceState::new(
                self.stores.clone(),
                component.key_value_labels.clone(),
            ),
            sqlite: sqlite::InstanceState::new(
                self.databases.clone(),
                component.sqlite_labels.clone(),
            ),
            variables: variables::InstanceState::new(
                self.resolver.clone(),
                component.id.clone(),
                component.variables.clone(),
            ),
            redis: outbound_redis::InstanceState::new(
                self.redis.clone(),
                component.allowed_hosts.clone(),
            ),
            limits: StoreLimitsBuilder::new()
                .memory_size(engine::MAX_MEMORY_BYTES)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        Ok(store)
    }

    pub fn routes(&self) -> &[(String, String)] {
        &self.public_routes
    }

    pub fn component(&self, id: &str) -> Option<&Arc<ComponentRuntime>> {
        self.components.get(id)
    }

    /// Instantiates `component` `iterations` times and returns the mean cost of one
    /// instantiation (store creation included), for the benchmark.
    pub async fn measure_instantiation(
        self: &Arc<Self>,
        component: &str,
        iterations: u32,
    ) -> Result<std::time::Duration> {
        let Some(rt) = self.components.get(component).cloned() else {
            bail!("no component `{component}`");
        };
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            let mut store = self.new_store(&rt, "http")?;
            rt.pre.instantiate_async(&mut store).await?;
        }
        Ok(start.elapsed() / iterations.max(1))
    }
}

/// What loading a component needs from the app being loaded.
struct LoadContext<'a> {
    loaded: &'a LoadedManifest,
    engine: &'a Engine,
    linker: &'a Linker<InstanceState>,
    resolver: &'a Resolver,
    stores: &'a Stores,
    databases: &'a Databases,
    component_ids: &'a [String],
    assets_dir: PathBuf,
    log_dir: Option<&'a Path>,
    follow_logs: bool,
}

impl LoadContext<'_> {
    /// Checks a component's configuration against the app, compiles it and pre-instantiates
    /// it for the triggers (`http`, `redis`) that use it.
    fn load_component(&self, id: &str, http: bool, redis: bool) -> Result<ComponentRuntime> {
        let component = &self.loaded.manifest.component[id];
        let context = || format!("failed to load component `{id}`");
        self.stores.check_labels(id, &component.key_value_stores)?;
        self.databases
            .check_labels(id, &component.sqlite_databases)?;

        let mut variables = BTreeMap::new();
        for (name, text) in &component.variables {
            let template = Template::parse(text).with_context(context)?;
            self.resolver
                .check_template(&template, &format!("component `{id}` variable `{name}`"))?;
            variables.insert(name.clone(), template);
        }

        let mut host_entries = Vec::new();
        for entry in &component.allowed_outbound_hosts {
            host_entries.push(
                self.resolver
                    .render_str(entry, &format!("component `{id}` allowed_outbound_hosts"))?,
            );
        }
        if !component.allowed_http_hosts.is_empty() {
            tracing::warn!(
                "component `{id}` uses the deprecated field `allowed_http_hosts`: replace it with `allowed_outbound_hosts`"
            );
            host_entries.extend(
                convert_allowed_http_hosts(&component.allowed_http_hosts).with_context(context)?,
            );
        }
        let allowed_hosts = AllowedHosts::parse(&host_entries, self.component_ids)
            .context("`allowed_outbound_hosts` is malformed")
            .with_context(context)?;

        let source = self.loaded.component_source(id)?;
        let compiled = engine::load_component(self.engine, &source).with_context(context)?;
        let pre = self
            .linker
            .instantiate_pre(&compiled)
            .map_err(|e| missing_import(id, e))?;
        let proxy = if http {
            Some(ProxyPre::new(pre.clone()).map_err(anyhow::Error::from).with_context(|| {
                format!("component `{id}` has an HTTP trigger but does not export wasi:http/incoming-handler@0.2.x")
            })?)
        } else {
            None
        };
        let redis = if redis {
            Some(redis_trigger::RedisTriggerPre::new(pre.clone()).map_err(anyhow::Error::from).with_context(|| {
                format!("component `{id}` has a Redis trigger but does not export fermyon:spin/inbound-redis")
            })?)
        } else {
            None
        };
        let files_dir = files::prepare(
            &self.loaded.dir,
            &component.files,
            &component.exclude_files,
            &self.assets_dir.join(id),
        )
        .with_context(context)?;

        Ok(ComponentRuntime {
            id: Arc::from(id),
            pre,
            proxy,
            redis,
            allowed_hosts: Arc::new(allowed_hosts),
            key_value_labels: Arc::new(component.key_value_stores.iter().cloned().collect()),
            sqlite_labels: Arc::new(component.sqlite_databases.iter().cloned().collect()),
            variables: Arc::new(variables),
            environment: component.environment.clone().into_iter().collect(),
            files_dir,
            logs: ComponentLogs::new(self.log_dir, id, self.follow_logs)?,
        })
    }
}

/// The provider chain: `--variable`, runtime-config providers, then the environment
/// (`SPIN_VARIABLE_*`, then a `.env` file in the working directory, as Spin). An explicit
/// `env` in the options replaces the process environment and its `.env` file alike.
fn build_resolver(
    manifest: &crate::manifest::Manifest,
    runtime: &LoadedRuntimeConfig,
    opts: &UpOptions,
) -> Result<Resolver> {
    let isolated = opts.env.is_some();
    let env = opts
        .env
        .clone()
        .unwrap_or_else(|| std::env::vars().collect());
    let dotenv = |path: PathBuf| if isolated { PathBuf::new() } else { path };
    let mut providers = vec![Provider::Static(opts.variables.iter().cloned().collect())];
    for provider in &runtime.config.variables_provider {
        providers.push(match provider {
            VariablesProvider::Static { values } => Provider::Static(values.clone()),
            VariablesProvider::Env {
                prefix,
                dotenv_path,
            } => Provider::env(
                prefix.as_deref().unwrap_or(variables::ENV_PREFIX),
                env.clone(),
                &dotenv(dotenv_path.clone().unwrap_or_else(|| PathBuf::from(".env"))),
            )?,
        });
    }
    providers.push(Provider::env(
        variables::ENV_PREFIX,
        env,
        &dotenv(PathBuf::from(".env")),
    )?);
    Ok(Resolver::new(manifest.variables.clone(), &providers))
}

/// Flag, then runtime-config key, then default; `""` at either level means "none".
fn resolve_dir(
    flag: Option<&Path>,
    config: Option<&str>,
    default: Option<PathBuf>,
) -> Result<Option<PathBuf>> {
    let chosen = match flag {
        Some(p) if p.as_os_str().is_empty() => return Ok(None),
        Some(p) => Some(p.to_path_buf()),
        None => match config {
            Some("") => return Ok(None),
            Some(c) => non_empty(Some(c)).map(PathBuf::from),
            None => default,
        },
    };
    chosen
        .map(|p| std::path::absolute(p).map_err(Into::into))
        .transpose()
}

fn missing_import(id: &str, e: wasmtime::Error) -> anyhow::Error {
    let e = anyhow::Error::from(e);
    anyhow::anyhow!(
        "failed to load component `{id}`: it imports an interface this host does not provide: {e:#}"
    )
}

/// A running application: its HTTP listener and Redis subscriptions.
pub struct RunningApp {
    app: Arc<App>,
    addr: SocketAddr,
    shutdown: tokio_util::sync::CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<Result<()>>>,
}

impl RunningApp {
    pub fn http_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting requests and ends the triggers.
    pub async fn shutdown(mut self) -> Result<()> {
        self.shutdown.cancel();
        for task in self.tasks.drain(..) {
            task.await??;
        }
        Ok(())
    }

    /// Runs until a trigger fails or `shutdown` is cancelled elsewhere.
    pub async fn wait(mut self) -> Result<()> {
        let (result, _, rest) = futures::future::select_all(self.tasks.drain(..)).await;
        self.shutdown.cancel();
        for task in rest {
            let _ = task.await;
        }
        result?
    }

    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.shutdown.clone()
    }
}

impl Drop for RunningApp {
    /// A dropped app stops serving, even when nobody called `shutdown`.
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `spin up`: loads the app, binds the listener and starts every trigger.
pub async fn up(opts: UpOptions) -> Result<RunningApp> {
    let app = App::load(&opts).await?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("failed to listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let _ = app.listen_addr.set(addr);
    let shutdown = tokio_util::sync::CancellationToken::new();
    // Subscribe first: an app whose Redis trigger cannot start does not start at all.
    let subscriptions = if app.redis_triggers.is_empty() {
        Vec::new()
    } else {
        trigger_redis::subscribe(&app).await?
    };
    let mut tasks = vec![tokio::spawn(trigger_http::serve(
        app.clone(),
        listener,
        shutdown.clone(),
    ))];
    if !subscriptions.is_empty() {
        tasks.push(tokio::spawn(trigger_redis::run(
            app.clone(),
            subscriptions,
            shutdown.clone(),
        )));
    }
    tracing::info!("Serving http://{addr}");
    Ok(RunningApp {
        app,
        addr,
        shutdown,
        tasks,
    })
}
