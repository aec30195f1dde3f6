//! The explore protocol's messages as types (docs/explore-protocol.md): every
//! request the Rust side writes and every answer the harness gives, one JSON
//! object per line. An answer that does not parse as its type is a protocol
//! error, not a guess.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::generate::targets::TargetKind;

/// The protocol version both sides speak: the `harness` field of the ready
/// line (the Python side's `protocol.PROTOCOL`).
pub const PROTOCOL: u64 = 2;

/// A request's id, echoed by its answer: a number or a string, as the caller
/// likes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(u64),
    Text(String),
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// One request line.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Explore(ExploreRequest),
    FindApp(FindAppRequest),
    /// The harness exits 0 without answering.
    Shutdown,
}

impl Request {
    /// The id its answer must carry (none: no answer comes).
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Request::Explore(r) => Some(&r.id),
            Request::FindApp(r) => Some(&r.id),
            Request::Shutdown => None,
        }
    }
}

/// Search one target for tests.
#[derive(Debug, Clone, Serialize)]
pub struct ExploreRequest {
    pub id: RequestId,
    pub target: TargetRef,
    /// Wall-clock cap of the search, seconds (a safety cap only).
    pub budget_s: f64,
    /// Calls the search may make: what makes a fixed seed give the same tests.
    pub max_calls: u32,
    /// Per call, seconds.
    pub call_timeout_s: f64,
    pub seed: u64,
    /// Run targets that delete files, spawn processes or use the network.
    pub allow_unsafe: bool,
    /// For `kind: route`: the application, as `find_app` answered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<AppRef>,
}

/// The target of an `explore` request.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRef {
    /// Absolute path of the target's file.
    pub file: PathBuf,
    /// Dotted import name of its module.
    pub module: String,
    /// `func`, or `Cls.meth` for a method.
    pub qualname: String,
    pub kind: TargetKind,
    /// First decorator (or `def`) line, 1-based.
    pub line: u32,
    /// Last line.
    pub end_line: u32,
}

/// Find the application object of a web project.
#[derive(Debug, Clone, Serialize)]
pub struct FindAppRequest {
    pub id: RequestId,
    pub framework: AppFramework,
    /// Candidate modules (those importing the framework's application class);
    /// empty for Django.
    pub modules: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppFramework {
    Flask,
    Fastapi,
    Django,
}

/// How to get the application: `import` then evaluate `expr` (Flask,
/// FastAPI), or the settings module (Django).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "framework", rename_all = "lowercase")]
pub enum AppRef {
    Flask {
        #[serde(rename = "import")]
        import_line: String,
        expr: String,
        /// How the tests make the app testable; absent when it needs nothing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        setup: Option<Box<FlaskSetup>>,
    },
    Fastapi {
        #[serde(rename = "import")]
        import_line: String,
        expr: String,
        /// The project's other applications (a second module's own
        /// `app = FastAPI()`), each with the conftest fixture of its tests.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        others: Vec<OtherApp>,
    },
    Django {
        settings: String,
    },
}

/// A further FastAPI application of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherApp {
    #[serde(rename = "import")]
    pub import_line: String,
    pub expr: String,
    /// The conftest fixture its tests take (`heroes_client`).
    pub fixture: String,
}

/// A Flask app built for tests (the harness's `frameworks/flaskapp.py`):
/// `expr` may name `test_config`, `{"TESTING": True}` plus `config` and
/// `constants`; the instance folder and every `config` path lie in a
/// temporary directory; `commands` are the app's own CLI commands, run
/// in order through `app.test_cli_runner()` before any request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlaskSetup {
    /// Flask's `auto_find_instance_path` answers the temporary directory.
    pub instance: bool,
    /// Settings that hold a file path (an SQLite `DATABASE`): set to
    /// `prefix + os.path.join(instance, name)`.
    #[serde(default)]
    pub config: Vec<ConfigPath>,
    /// Settings the app lacks that its tests need (`SECRET_KEY`).
    #[serde(default)]
    pub constants: std::collections::BTreeMap<String, String>,
    /// CLI commands with their arguments, e.g. `[["init-db"]]`.
    #[serde(default)]
    pub commands: Vec<Vec<String>>,
    /// The config is applied after `expr` (a factory without a config
    /// parameter, a module-level app).
    #[serde(default)]
    pub config_after: bool,
}

/// One file setting of a [`FlaskSetup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigPath {
    pub key: String,
    /// `""` or `"sqlite:///"`.
    pub prefix: String,
    pub name: String,
}

/// The first line the harness writes.
#[derive(Debug, Clone, Deserialize)]
pub struct Ready {
    pub ready: bool,
    /// The interpreter's version, e.g. `3.11.7`.
    #[serde(default)]
    pub python: String,
    /// The protocol version (0 when the harness does not say).
    #[serde(default)]
    pub harness: u64,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// With a reason a user can act on.
    Skipped,
    /// A harness bug: the reason holds the traceback's last line.
    Error,
}

/// Every answer carries the id of its request (`null` when the request line
/// was not even JSON).
pub trait Answer {
    fn id(&self) -> Option<&RequestId>;
}

/// The answer to `explore`.
#[derive(Debug, Clone, Deserialize)]
pub struct ExploreAnswer {
    pub id: Option<RequestId>,
    pub status: Status,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub elapsed_s: f64,
    /// Calls the search made.
    #[serde(default)]
    pub calls: u64,
    /// Absent on skips and errors.
    #[serde(default)]
    pub lines: Option<LineCoverage>,
    #[serde(default)]
    pub tests: Vec<ExploredTest>,
    /// The harness could not put its state back after this target (a
    /// thread still running, a signal handler it cannot reset): what
    /// remains. The next target gets a fresh harness.
    #[serde(default)]
    pub restart: Option<String>,
    /// The wall-clock cap (`budget_s`) cut the search short: its tests may
    /// differ on a faster or slower machine.
    #[serde(default)]
    pub capped: bool,
}

/// The target's statement lines and those the kept tests reach.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LineCoverage {
    pub total: Vec<u32>,
    pub reached: Vec<u32>,
}

/// A test the harness kept, as pytest source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExploredTest {
    /// Unique within the answer, starts with `test_`.
    pub name: String,
    /// A complete top-level `def` (4-space indent, trailing newline).
    pub source: String,
    /// Whole import lines the source needs.
    #[serde(default)]
    pub imports: Vec<String>,
    /// The pytest fixtures it takes (`client`, `db`).
    #[serde(default)]
    pub fixtures: Vec<String>,
    /// The lines of `lines.total` this test reached first.
    #[serde(default)]
    pub new_lines: Vec<u32>,
    /// The test pins an exception that looks like a bug of the project
    /// (raised by the interpreter in project code on valid-looking input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspected_bug: Option<HarnessBug>,
}

/// A suspected bug as the harness reports it (the target and the finder
/// are added on this side: `generate::SuspectedBug`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarnessBug {
    /// Relative to the project root, `/`-separated.
    pub file: String,
    pub line: u32,
    /// The call, as Python source.
    pub input: String,
    pub error: String,
    pub reason: String,
    /// The test's name.
    #[serde(default)]
    pub test: Option<String>,
}

/// The answer to `find_app`.
#[derive(Debug, Clone, Deserialize)]
pub struct FindAppAnswer {
    pub id: Option<RequestId>,
    pub status: Status,
    #[serde(default)]
    pub reason: Option<String>,
    /// With status `ok`.
    #[serde(default)]
    pub app: Option<AppRef>,
    /// With status `ok`: the source of `tests/generated/conftest.py`.
    #[serde(default)]
    pub conftest: Option<String>,
}

impl Answer for ExploreAnswer {
    fn id(&self) -> Option<&RequestId> {
        self.id.as_ref()
    }
}

impl Answer for FindAppAnswer {
    fn id(&self) -> Option<&RequestId> {
        self.id.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_serialize_as_the_harness_reads_them() {
        let req = Request::Explore(ExploreRequest {
            id: RequestId::Number(7),
            target: TargetRef {
                file: "/p/pricing.py".into(),
                module: "plainlib.pricing".into(),
                qualname: "apply_discount".into(),
                kind: TargetKind::Function,
                line: 26,
                end_line: 31,
            },
            budget_s: 10.0,
            max_calls: 400,
            call_timeout_s: 2.0,
            seed: 0,
            allow_unsafe: false,
            app: None,
        });
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"op": "explore", "id": 7,
                   "target": {"file": "/p/pricing.py", "module": "plainlib.pricing",
                              "qualname": "apply_discount", "kind": "function",
                              "line": 26, "end_line": 31},
                   "budget_s": 10.0, "max_calls": 400, "call_timeout_s": 2.0, "seed": 0,
                   "allow_unsafe": false})
        );
        let find = Request::FindApp(FindAppRequest {
            id: RequestId::Text("app".into()),
            framework: AppFramework::Flask,
            modules: vec!["app".into()],
        });
        assert_eq!(
            serde_json::to_value(&find).unwrap(),
            json!({"op": "find_app", "id": "app", "framework": "flask", "modules": ["app"]})
        );
        assert_eq!(
            serde_json::to_value(Request::Shutdown).unwrap(),
            json!({"op": "shutdown"})
        );
    }

    #[test]
    fn app_refs_round_trip_in_the_harness_shape() {
        let flask = json!({"framework": "flask", "import": "from app import create_app",
                           "expr": "create_app({'TESTING': True})"});
        let app: AppRef = serde_json::from_value(flask.clone()).unwrap();
        assert_eq!(
            app,
            AppRef::Flask {
                import_line: "from app import create_app".into(),
                expr: "create_app({'TESTING': True})".into(),
                setup: None,
            }
        );
        assert_eq!(serde_json::to_value(&app).unwrap(), flask);
        // The tutorial's factory: its setup goes back to the harness whole.
        let flaskr = json!({"framework": "flask", "import": "from flaskr import create_app",
                            "expr": "create_app(test_config)",
                            "setup": {"instance": true,
                                      "config": [{"key": "DATABASE", "prefix": "", "name": "flaskr.sqlite"}],
                                      "constants": {"SECRET_KEY": "testgen-secret"},
                                      "commands": [["init-db"]], "config_after": false}});
        let app: AppRef = serde_json::from_value(flaskr.clone()).unwrap();
        let AppRef::Flask {
            setup: Some(setup), ..
        } = &app
        else {
            panic!("{app:?}")
        };
        assert_eq!(setup.commands, vec![vec!["init-db".to_string()]]);
        assert_eq!(setup.config[0].name, "flaskr.sqlite");
        assert_eq!(serde_json::to_value(&app).unwrap(), flaskr);
        let django: AppRef =
            serde_json::from_value(json!({"framework": "django", "settings": "mysite.settings"}))
                .unwrap();
        assert_eq!(
            django,
            AppRef::Django {
                settings: "mysite.settings".into()
            }
        );
    }

    #[test]
    fn answers_parse_with_and_without_optional_fields() {
        let ok: ExploreAnswer = serde_json::from_value(json!({
            "id": 7, "status": "ok", "reason": null, "elapsed_s": 0.8, "calls": 3,
            "lines": {"total": [27, 28], "reached": [27]},
            "tests": [{"name": "test_a", "source": "def test_a():\n    pass\n",
                       "imports": [], "fixtures": [], "new_lines": [27]}]}))
        .unwrap();
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(ok.id, Some(RequestId::Number(7)));
        assert_eq!(ok.tests[0].new_lines, vec![27]);
        assert_eq!(ok.lines.unwrap().reached, vec![27]);

        let skipped: ExploreAnswer = serde_json::from_value(json!({
            "id": "x", "status": "skipped", "reason": "calls os.remove", "calls": 0,
            "tests": [], "elapsed_s": 0.01}))
        .unwrap();
        assert_eq!(skipped.status, Status::Skipped);
        assert!(skipped.lines.is_none());

        let bad: ExploreAnswer =
            serde_json::from_value(json!({"id": null, "status": "error", "reason": "bad request"}))
                .unwrap();
        assert_eq!(bad.id, None);
        assert!(serde_json::from_value::<ExploreAnswer>(json!({"id": 1})).is_err());
        assert!(
            serde_json::from_value::<ExploreAnswer>(json!({"id": 1, "status": "maybe"})).is_err()
        );
    }

    #[test]
    fn ready_line_parses() {
        let r: Ready =
            serde_json::from_str(r#"{"ready": true, "python": "3.11.7", "harness": 2}"#).unwrap();
        assert!(r.ready);
        assert_eq!(r.harness, PROTOCOL);
        let old: Ready = serde_json::from_str(r#"{"ready": true}"#).unwrap();
        assert_eq!(old.harness, 0);
    }
}
