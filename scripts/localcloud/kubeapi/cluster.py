"""One EKS cluster's Kubernetes API: its objects, its HTTPS server, its test hooks."""

from __future__ import annotations

import base64
import collections
import copy
import threading

from .controller import ClusterState
from .faults import FaultQueue
from .pods import render_pod
from .render import render_deployment, summarize
from .server import KubeServer
from .tls import HOST, make_certificates, server_context

REQUEST_LOG_SIZE = 10000


class KubeCluster:
    """Serves from construction on (a daemon thread) until ``stop``.

    ``lock`` guards ``state``, ``faults`` and ``requests``: the server's
    threads and the admin API share them.
    """

    def __init__(self, account: str, region: str, name: str):
        self.account = account
        self.region = region
        self.name = name
        self.lock = threading.RLock()
        self.state = ClusterState(name, region)
        self.faults = FaultQueue()
        self.requests: collections.deque = collections.deque(maxlen=REQUEST_LOG_SIZE)

        ca_pem, cert_pem, key_pem = make_certificates()
        self.ca_pem = ca_pem
        self.ca_data = base64.b64encode(ca_pem).decode()
        self.server = KubeServer((HOST, 0), self, server_context(cert_pem, key_pem))
        self.port = self.server.server_address[1]
        self.endpoint = f"https://{HOST}:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"kube-{name}",
            daemon=True,
        )
        self.thread.start()

    @property
    def scenario(self) -> dict:
        return self.state.scenario

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, request: dict) -> None:
        with self.lock:
            self.requests.append(request)

    def entry(self) -> dict:
        """What ``GET /clusters`` lists, and what ``DescribeCluster`` needs."""
        return {
            "name": self.name,
            "region": self.region,
            "account": self.account,
            "endpoint": self.endpoint,
            "certificate_authority_data": self.ca_data,
            "cluster_status": self.state.scenario["cluster_status"],
        }

    def serves_platform(self) -> tuple[bool, str]:
        with self.lock:
            return self.state.serves_platform()

    def report(self) -> dict:
        """``GET /clusters/{name}/state``: everything a test may want to assert."""
        with self.lock:
            state = self.state
            return {
                "cluster": self.entry(),
                "scenario": copy.deepcopy(state.scenario),
                "summary": summarize(state),
                "deployment": render_deployment(state) if state.deployment is not None else None,
                "pods": [render_pod(state, pod) for pod in state.pods],
                "rollouts": state.rollouts,
                "faults": self.faults.pending(),
            }
