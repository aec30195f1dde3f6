"""testgen's explore harness: the Python half of the offline engine.

Runs inside the project's own interpreter and speaks the JSON-lines protocol
of docs/explore-protocol.md on stdin/stdout. For one target (function,
method or Flask/FastAPI route) it searches inputs under a line+arc tracer,
keeps the calls that reach new code and renders each as a pytest function.

Stdlib only, Python >= 3.9. The Rust side embeds every file of this package
and starts it as `python -u -c <launcher> <install dir> --root ... --rules ...`
(see server/src/generate/explore/package.rs). One module per job:

  main         arguments, start-up, the request loop
  protocol     the JSON-lines channel on private copies of fd 0/1
  context      the state of one harness process (no module globals)
  rules        what is a project file, by the rules the Rust side passes
  isolation    the project's modules in and out of sys.modules
  safety       static unsafe scan, audit-hook guard, per-call timeouts
  tracer       lines and arcs of the target, in every thread
  source       AST helpers, FunctionFacts, the project's call sites
  typehints    annotations evaluated, pydantic fields
  values       generated values that build objects and write source
  generation   value pools and random draws (Gen)
  execution    parameters (Callee), outcomes, finishing calls
  render       expected values as source, assertions
  naming       test names from outcomes and branch decisions
  search       the search shared by every target kind (Explorer, Plan)
  callables    functions and methods as targets
  templates    the conftest files written beside the generated tests
  frameworks/  spec (route specs), flask, fastapi, routes (RouteExplorer),
               app (find_app), django (settings, set-up, transactions)
"""
