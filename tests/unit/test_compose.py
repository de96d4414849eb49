"""The container deployment: docker-compose.yml is valid Compose, every file it and
the Dockerfiles refer to exists (and reaches the build context), and credentials,
permissions and topology in deploy/ agree with each other and with the code.

No Docker engine is needed: everything here is read, not built or run."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shlex
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import yaml

from shared.settings import load
from shared.topology import DELIVERY_LIMIT, UNROUTED_MAX_LENGTH, consumer_queue_arguments

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "data" / "compose-spec.json"
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
RABBITMQ_CONF = ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf"
POSTGRES_INIT = ROOT / "deploy" / "postgres" / "init.sql"

SERVICES = ("agenda", "newsroom", "scoring")
# Every process of every service runs in its own container (DESIGN §2).
PROCESSES = {
    "agenda-api": ("agenda", "api"),
    "agenda-relay": ("agenda", "relay"),
    "newsroom-api": ("newsroom", "api"),
    "newsroom-consumer": ("newsroom", "consume"),
    "newsroom-relay": ("newsroom", "relay"),
    "scoring-api": ("scoring", "api"),
    "scoring-consumer": ("scoring", "consume"),
}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _definitions() -> dict:
    return json.loads(DEFINITIONS.read_text())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


# --- references to files ------------------------------------------------------------


def _is_local(path: str) -> bool:
    return "://" not in path and not path.startswith(("git@", "github.com/", "~", "${"))


def _bind_source(volume: object) -> str | None:
    """The host path of a bind mount given as a relative path, else None (named
    volumes, tmpfs, absolute host paths that belong to the machine)."""
    if isinstance(volume, dict):
        if volume.get("type") != "bind":
            return None
        source = str(volume.get("source", ""))
    else:
        source = str(volume).split(":", 1)[0]
    return source if source.startswith(".") else None


def referenced_files(compose: dict, base: Path) -> list[tuple[str, Path, str]]:
    """(what, path, kind) for every local file or directory the compose file names;
    kind is "dir", "file" or "any"."""
    refs: list[tuple[str, Path, str]] = []
    for name, service in (compose.get("services") or {}).items():
        build = service.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if isinstance(build, dict):
            context_name = str(build.get("context", "."))
            if _is_local(context_name):
                context = base / context_name
                refs.append((f"{name}: build context", context, "dir"))
                if "dockerfile_inline" not in build:
                    refs.append((f"{name}: dockerfile",
                                 context / str(build.get("dockerfile", "Dockerfile")), "file"))
        for volume in service.get("volumes") or []:
            source = _bind_source(volume)
            if source is not None:
                refs.append((f"{name}: bind mount", base / source, "any"))
        env_files = service.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str | dict) else env_files:
            if isinstance(env_file, dict):
                if env_file.get("required", True) is False:
                    continue
                env_file = env_file["path"]
            refs.append((f"{name}: env_file", base / str(env_file), "file"))
        extends = service.get("extends")
        if isinstance(extends, dict) and "file" in extends:
            refs.append((f"{name}: extends", base / str(extends["file"]), "file"))
        label_files = service.get("label_file") or []
        for label_file in [label_files] if isinstance(label_files, str) else label_files:
            refs.append((f"{name}: label_file", base / str(label_file), "file"))
    for section in ("configs", "secrets"):
        for name, item in (compose.get(section) or {}).items():
            if isinstance(item, dict) and "file" in item:
                refs.append((f"{section}.{name}", base / str(item["file"]), "any"))
    for item in compose.get("include") or []:
        paths = item if isinstance(item, str) else item.get("path") or []
        for path in [paths] if isinstance(paths, str) else paths:
            refs.append(("include", base / str(path), "file"))
    return refs


def missing_files(refs: list[tuple[str, Path, str]]) -> list[str]:
    check = {"dir": Path.is_dir, "file": Path.is_file, "any": Path.exists}
    return [f"{what}: {path}" for what, path, kind in refs if not check[kind](path)]


def _dockerfiles(compose: dict, base: Path) -> dict[Path, Path]:
    """Dockerfile path -> its build context, for every service built here."""
    found: dict[Path, Path] = {}
    for service in (compose.get("services") or {}).values():
        build = service.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if isinstance(build, dict) and "dockerfile_inline" not in build:
            context = (base / str(build.get("context", "."))).resolve()
            found[(context / str(build.get("dockerfile", "Dockerfile"))).resolve()] = context
    return found


# --- Dockerfiles ----------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    if current.strip():
        keyword, _, rest = current.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def copy_sources(arguments: str) -> list[str] | None:
    """The build-context sources of a COPY/ADD, or None when it copies from another
    stage or image (--from)."""
    if arguments.startswith("["):
        parts = json.loads(arguments)
    else:
        parts = shlex.split(arguments)
    flags = [part for part in parts if part.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        return None
    paths = [part for part in parts if not part.startswith("--")]
    assert len(paths) >= 2, f"COPY/ADD needs a source and a destination: {arguments}"
    return paths[:-1]


def dockerignore_patterns(context: Path) -> list[tuple[bool, str]]:
    path = context / ".dockerignore"
    if not path.exists():
        return []
    patterns = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        patterns.append((negated, line.lstrip("!").strip("/")))
    return patterns


def ignored(relative: str, patterns: list[tuple[bool, str]]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a directory
    excludes what is under it. `**` matches any number of directories."""
    relative = relative.strip("/")
    parents = [relative] + ["/".join(relative.split("/")[:i])
                            for i in range(1, relative.count("/") + 1)]
    result = False
    for negated, pattern in patterns:
        regex = _dockerignore_regex(pattern)
        if any(regex.fullmatch(candidate) for candidate in parents):
            result = not negated
    return result


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    # Go's filepath.Match, as Docker uses it: `*` and `?` stay within one path
    # element; Docker adds `**`, any number of elements (including none).
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


# --- RabbitMQ -------------------------------------------------------------------------


def rabbit_hash_matches(password_hash: str, password: str) -> bool:
    """rabbit_password_hashing_sha256: base64(salt4 + sha256(salt4 + password))."""
    raw = base64.b64decode(password_hash)
    salt, digest = raw[:4], raw[4:]
    return len(raw) == 36 and hashlib.sha256(salt + password.encode()).digest() == digest


def allowed(definitions: dict, user: str, vhost: str, permission: str, resource: str) -> bool:
    """RabbitMQ's check: the user's regex for that permission, unanchored re:run
    against the resource name; the default exchange is checked as amq.default."""
    resource = resource or "amq.default"
    for entry in definitions["permissions"]:
        if entry["user"] == user and entry["vhost"] == vhost:
            pattern = entry[permission] or "^$"
            return re.search(pattern, resource) is not None
    return False


def _amqp(service: str) -> tuple[str, str, str]:
    """(user, password, vhost) from the AMQP_URL the service's containers use."""
    urls = {_env(svc)["AMQP_URL"] for name, svc in _compose()["services"].items()
            if name in PROCESSES and PROCESSES[name][0] == service}
    assert len(urls) == 1, f"{service}: its containers should share one AMQP_URL, got {urls}"
    parts = urlsplit(urls.pop())
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return parts.username or "", unquote(parts.password or ""), vhost


# Whose events each service consumes (DESIGN §2, §5).
SOURCES = {"agenda": [], "newsroom": ["agenda"], "scoring": ["agenda", "newsroom"]}


def _required_operations(service: str) -> dict[str, set[str]]:
    """What each service's processes do on the broker, in the terms RabbitMQ checks:
    declaring an exchange with an alternate exchange needs configure + read on it and
    write on the alternate; a queue with a dead-letter exchange configure + read on
    it and write on the DLX; a binding write on the queue and read on the exchange;
    publishing write on the exchange (the default exchange counts as amq.default)."""
    settings = load(service, SIMALIK_PREFIX="")
    need: dict[str, set[str]] = {"configure": set(), "write": set(), "read": set()}
    unrouted = settings.unrouted

    def declare_exchange(name: str) -> None:
        # shared/topology.declare_exchange: the fanout, the capped queue and its
        # binding, then the topic exchange with its alternate exchange.
        need["configure"] |= {unrouted, name}
        need["write"].add(unrouted)
        need["read"] |= {unrouted, name}

    if service in ("agenda", "newsroom"):
        declare_exchange(settings.exchange())  # the relay
        need["write"].add(settings.exchange())  # and what it publishes
    for source in SOURCES[service]:
        # The consumer declares the source exchange as its relay does (so it can
        # bind before that relay ever ran), then its quorum queue, then binds.
        declare_exchange(settings.exchange(source))
        queue = settings.queue(source)
        need["configure"].add(queue)
        need["read"].add(queue)
        need["write"] |= {queue, consumer_queue_arguments(settings)["x-dead-letter-exchange"]}
    if SOURCES[service]:
        dlq = settings.queue("dlq")
        # declare_dlq(); `dlq list` (basic.get); `dlq redrive` (default exchange).
        need["configure"].add(dlq)
        need["read"].add(dlq)
        need["write"].add("")
    return need


# --- tests: compose ---------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def test_every_file_the_compose_file_refers_to_exists():
    refs = referenced_files(_compose(), COMPOSE.parent)
    kinds = {what.split(": ")[-1] for what, _, _ in refs}
    assert {"build context", "dockerfile", "bind mount"} <= kinds, kinds
    assert not missing_files(refs), "missing:\n" + "\n".join(missing_files(refs))


def test_the_reference_check_fails_on_a_missing_file(tmp_path):
    (tmp_path / "present.conf").write_text("")
    compose = {
        "services": {
            "app": {
                "build": {"context": ".", "dockerfile": "deploy/absent.Dockerfile"},
                "volumes": ["./present.conf:/etc/x.conf:ro", "./absent.conf:/etc/y.conf",
                            "named:/data", {"type": "bind", "source": "./gone", "target": "/g"}],
                "env_file": ["absent.env", {"path": "optional.env", "required": False}],
            },
        },
        "configs": {"c": {"file": "./absent-config"}},
        "secrets": {"s": {"file": "./present.conf"}},
    }
    missing = missing_files(referenced_files(compose, tmp_path))
    assert len(missing) == 5, missing
    for part in ("absent.Dockerfile", "absent.conf", "gone", "absent.env", "absent-config"):
        assert any(part in line for line in missing), (part, missing)


def test_one_container_per_process_with_health_checks_and_restarts():
    services = _compose()["services"]
    assert set(PROCESSES) | {"postgres", "rabbitmq"} <= set(services)
    for infra in ("postgres", "rabbitmq"):
        assert services[infra].get("healthcheck", {}).get("test"), infra
    for name, (service, command) in PROCESSES.items():
        spec = services[name]
        assert spec.get("restart") == "unless-stopped", name
        assert spec["build"]["dockerfile"] == f"deploy/{service}.Dockerfile", name
        assert spec.get("command") in ([command], command), name
        for dependency in ("postgres", "rabbitmq"):
            assert spec["depends_on"][dependency]["condition"] == "service_healthy", name
        env = _env(spec)
        assert env.get(f"{service.upper()}_DATABASE_URL"), name
        assert not [key for key in env if key.endswith("_DATABASE_URL")
                    and key != f"{service.upper()}_DATABASE_URL"], f"{name}: another's database"
        port = env.get("METRICS_PORT") if command != "api" else env.get(
            f"{service.upper()}_HTTP_PORT", str({"agenda": 8001, "newsroom": 8002,
                                                "scoring": 8003}[service]))
        assert port, f"{name}: relays and consumers serve /metrics on METRICS_PORT"
        test = " ".join(spec["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/healthz" in test, f"{name}: {test}"
    metrics = [_env(services[name]).get("METRICS_PORT") for name in PROCESSES]
    metrics = [port for port in metrics if port]
    assert len(metrics) == len(set(metrics)) == 4


# --- tests: Dockerfiles ----------------------------------------------------------------


def test_dockerfiles_copy_only_what_exists_and_reaches_the_build_context():
    dockerfiles = _dockerfiles(_compose(), COMPOSE.parent)
    assert {path.name for path in dockerfiles} == {f"{s}.Dockerfile" for s in SERVICES}
    problems = []
    for dockerfile, context in dockerfiles.items():
        patterns = dockerignore_patterns(context)
        instructions = dockerfile_instructions(dockerfile.read_text())
        copies = [args for keyword, args in instructions if keyword in ("COPY", "ADD")]
        assert copies, dockerfile
        for args in copies:
            for source in copy_sources(args) or []:
                path = context / source
                if not (path.exists() or list(context.glob(source))):
                    problems.append(f"{dockerfile.name}: COPY {source}: no such file")
                elif ignored(source, patterns):
                    problems.append(f"{dockerfile.name}: COPY {source}: excluded by .dockerignore")
    assert not problems, "\n".join(problems)


def test_dockerfiles_install_the_project_and_run_it_unprivileged():
    for service in SERVICES:
        path = ROOT / "deploy" / f"{service}.Dockerfile"
        instructions = dockerfile_instructions(path.read_text())
        keywords = [keyword for keyword, _ in instructions]
        args = {keyword: rest for keyword, rest in instructions}
        assert instructions[0] == ("FROM", "python:3.11-slim"), path
        for name in ("pyproject.toml", "constraints.txt", "shared", "services", "data"):
            assert any(name in (copy_sources(rest) or []) for keyword, rest in instructions
                       if keyword == "COPY"), f"{path.name}: COPY {name}"
        assert any("pip install --no-cache-dir -c constraints.txt ." in rest
                   for keyword, rest in instructions if keyword == "RUN"), path
        user = args.get("USER", "root").split(":")[0]
        assert user not in ("", "root", "0"), f"{path.name}: runs as root"
        assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
        assert "EXPOSE" in args and "HEALTHCHECK" in args, path
        # Exec-form arrays that are not valid JSON silently become shell form.
        for keyword in ("CMD", "ENTRYPOINT"):
            assert json.loads(args[keyword]), f"{path.name}: {keyword}"
        healthcheck = args["HEALTHCHECK"]
        json.loads(healthcheck[healthcheck.index("CMD") + 3:].strip())
        assert json.loads(args["ENTRYPOINT"]) == ["python", "-m", f"services.{service}"]
        assert json.loads(args["CMD"]) == ["api"]


def test_dockerignore_patterns_behave_like_docker():
    patterns = [(False, "tests"), (False, "**/__pycache__"), (False, "*.egg-info"),
                (False, "docs"), (True, "docs/keep.md")]
    assert ignored("tests/unit/test_compose.py", patterns)
    assert ignored("shared/__pycache__/x.pyc", patterns)
    assert ignored("simalik.egg-info", patterns)
    assert not ignored("docs/keep.md", patterns)
    assert not ignored("shared", patterns)
    assert not ignored("services", patterns)


# --- tests: RabbitMQ -------------------------------------------------------------------


def test_rabbitmq_loads_the_definitions_file_the_compose_file_mounts():
    conf = {}
    for line in RABBITMQ_CONF.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            conf[key.strip()] = value.strip()
    mounts = {}
    for volume in _compose()["services"]["rabbitmq"]["volumes"]:
        source, target = str(volume).split(":")[:2]
        mounts[target] = (COMPOSE.parent / source).resolve()
    assert mounts[conf["load_definitions"]] == DEFINITIONS.resolve()
    assert any(target.startswith("/etc/rabbitmq/") and path == RABBITMQ_CONF.resolve()
               for target, path in mounts.items())


def test_definitions_have_one_user_per_service_with_permissions_and_matching_passwords():
    definitions = _definitions()
    users = {user["name"]: user for user in definitions["users"]}
    vhosts = {vhost["name"] for vhost in definitions["vhosts"]}
    for service in SERVICES:
        user, password, vhost = _amqp(service)
        assert user == service, f"{service} connects as {user}"
        assert vhost in vhosts, f"{service}: vhost {vhost!r} is not defined"
        entry = users[user]
        assert entry["hashing_algorithm"] == "rabbit_password_hashing_sha256"
        assert "password" not in entry, f"{user}: plain password in definitions"
        assert rabbit_hash_matches(entry["password_hash"], password), \
            f"{user}: password_hash does not match the password in AMQP_URL"
        assert entry["tags"] in ("", []), f"{user}: a service user needs no management tags"
        perms = [p for p in definitions["permissions"] if p["user"] == user]
        assert [p["vhost"] for p in perms] == [vhost], f"{user}: permissions {perms}"
        for kind in ("configure", "write", "read"):
            re.compile(perms[0][kind])
    assert not [u for u in users if u == "guest"], "no guest user in the definitions"


def test_each_service_may_do_what_its_processes_do():
    definitions = _definitions()
    for service in SERVICES:
        user, _, vhost = _amqp(service)
        for permission, resources in _required_operations(service).items():
            for resource in sorted(resources):
                assert allowed(definitions, user, vhost, permission, resource), \
                    f"{user} lacks {permission} on {resource or 'amq.default'!r}"


def test_no_service_may_publish_as_another_or_touch_anothers_queues():
    definitions = _definitions()
    for service in SERVICES:
        user, _, vhost = _amqp(service)
        for other in SERVICES:
            if other == service:
                continue
            exchange = f"simalik.{other}"
            # Publishing is what would let one service forge another's events.
            assert not allowed(definitions, user, vhost, "write", exchange), (user, exchange)
            if other not in SOURCES[service]:
                for permission in ("configure", "read"):
                    assert not allowed(definitions, user, vhost, permission, exchange), \
                        (user, permission, exchange)
            for queue in (f"{other}.agenda", f"{other}.newsroom", f"{other}.dlq"):
                for permission in ("configure", "write", "read"):
                    assert not allowed(definitions, user, vhost, permission, queue), \
                        (user, permission, queue)
    # The agenda consumes nothing: no queue of its own, no default exchange.
    user, _, vhost = _amqp("agenda")
    assert not allowed(definitions, user, vhost, "write", "")
    assert not allowed(definitions, user, vhost, "configure", "agenda.dlq")


def test_topology_in_the_definitions_is_what_the_services_declare():
    """The services declare these too (shared/topology.py); any difference makes their
    declaration fail with PRECONDITION_FAILED."""
    definitions = _definitions()
    settings = load("agenda", SIMALIK_PREFIX="")
    _, _, vhost = _amqp("agenda")
    exchanges = {e["name"]: e for e in definitions["exchanges"]}
    unrouted = settings.unrouted
    assert set(exchanges) == {unrouted, settings.exchange("agenda"), settings.exchange("newsroom")}
    for name, exchange in exchanges.items():
        assert exchange["vhost"] == vhost
        assert (exchange["durable"], exchange["auto_delete"], exchange["internal"]) == (
            True, False, False), name
        if name == unrouted:
            assert (exchange["type"], exchange["arguments"]) == ("fanout", {}), name
        else:
            assert exchange["type"] == "topic", name
            assert exchange["arguments"] == {"alternate-exchange": unrouted}, name
    queues = {q["name"]: q for q in definitions["queues"]}
    assert set(queues) == {unrouted}, "consumer queues belong to the code that declares them"
    queue = queues[unrouted]
    assert (queue["vhost"], queue["durable"], queue["auto_delete"]) == (vhost, True, False)
    assert queue["arguments"] == {"x-max-length": UNROUTED_MAX_LENGTH, "x-overflow": "drop-head"}
    # aio-pika binds with the queue's name as routing key when none is given.
    assert definitions["bindings"] == [{
        "source": unrouted, "vhost": vhost, "destination": unrouted,
        "destination_type": "queue", "routing_key": unrouted, "arguments": {}}]
    assert DELIVERY_LIMIT >= 10


# --- tests: PostgreSQL -----------------------------------------------------------------


def test_each_service_has_its_own_database_and_role():
    sql = re.sub(r"--[^\n]*", "", POSTGRES_INIT.read_text())
    services = _compose()["services"]
    mounts = [str(v) for v in services["postgres"]["volumes"]]
    assert any((COMPOSE.parent / m.split(":")[0]).resolve() == POSTGRES_INIT.resolve()
               and m.split(":")[1].startswith("/docker-entrypoint-initdb.d/") for m in mounts)
    seen = set()
    for name, (service, _) in PROCESSES.items():
        url = urlsplit(_env(services[name])[f"{service.upper()}_DATABASE_URL"])
        user, password, database = url.username, unquote(url.password or ""), url.path[1:]
        assert (url.hostname, url.port) == ("postgres", 5432), name
        assert user == service and database == f"simalik_{service}", name
        seen.add((user, password, database))
        assert re.search(rf"CREATE ROLE {user}\s+LOGIN PASSWORD '{re.escape(password)}'", sql), \
            f"{name}: role {user} with the password in its URL"
        assert re.search(rf"CREATE DATABASE {database}\s+OWNER {user};", sql), name
        assert re.search(rf"REVOKE ALL ON DATABASE {database}\s+FROM PUBLIC;", sql), name
    assert len(seen) == len(SERVICES)
