"""A private chat system for the browser tests: redis-server, cs-dispatcher, cs-notifier and
cs-gateway processes on free loopback ports (never 6379/6390), with their logs in
test-output/browser/logs. Binaries come from CS_BIN_DIR."""

import atexit
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUTPUT = os.path.join(ROOT, 'test-output', 'browser')
LOGS = os.path.join(OUTPUT, 'logs')


_RUNNING = []


def _stop_all():
    for cluster in list(_RUNNING):
        cluster.stop()


# Children run in their own sessions (a Ctrl-C reaches only this process), so stop them on any
# exit, including SIGTERM (turned into SystemExit so that atexit runs).
atexit.register(_stop_all)
signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(143)))


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port not in (6379, 6390, 8080):
            return port


def wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except RuntimeError:
            raise
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.1)
    raise TimeoutError(f'{what} not ready within {timeout}s')


class Gateway:
    def __init__(self, cluster, gateway_id, port, extra):
        self.cluster, self.id, self.port, self.extra = cluster, gateway_id, port, extra
        self.process = None

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def start(self):
        self.process = self.cluster.spawn(f'gateway-{self.id}', [
            'cs-gateway', '--host', '127.0.0.1', '--port', str(self.port), '--gateway-id', self.id,
            '--jwt-secret', self.cluster.jwt_secret, '--presence-ttl-ms', '3000', *self.extra])
        process = self.process

        def ready():
            if process.poll() is not None:
                raise RuntimeError(f'gateway {self.id} exited with {process.returncode}; see {LOGS}/gateway-{self.id}.log')
            return urllib.request.urlopen(self.url + '/readyz', timeout=2).status == 200
        wait_until(ready, 60, f'gateway {self.id}')

    def stop(self):
        self.cluster.stop_process(self.process)
        self.process = None

    def restart(self):
        self.stop()
        self.start()


class Cluster:
    def __init__(self, bin_dir=None, gateways=1, gateway_args=()):
        self.bin_dir = bin_dir or os.environ.get('CS_BIN_DIR') or os.path.join(ROOT, '.build', 'debug')
        self.jwt_secret = secrets.token_hex(32)
        self.admin_key = secrets.token_hex(32)
        self.redis_port = free_port()
        self.redis_url = f'redis://127.0.0.1:{self.redis_port}'
        self.processes = []
        self.tmp = tempfile.mkdtemp(prefix='cs-browser-')
        extra = list(gateway_args) + ['--admin-key', self.admin_key]
        if os.environ.get('CS_STATIC_DIR'):
            extra += ['--static-dir', os.environ['CS_STATIC_DIR']]
        self.gateways = [Gateway(self, f'gw{i + 1}', free_port(), extra) for i in range(gateways)]

    def spawn(self, name, argv):
        os.makedirs(LOGS, exist_ok=True)
        log = open(os.path.join(LOGS, f'{name}.log'), 'ab')
        exe = argv[0] if argv[0] == 'redis-server' else os.path.join(self.bin_dir, argv[0])
        args = [exe, *argv[1:]]
        if argv[0] != 'redis-server':
            args += ['--redis-url', self.redis_url, '--log-level', 'info']
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log = log
        self.processes.append(process)
        return process

    def stop_process(self, process, timeout=15):
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.log.close()

    def start(self, rating_window_seconds=None):
        """Starts everything; on failure stops what did start and raises."""
        _RUNNING.append(self)
        try:
            self._start(rating_window_seconds)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, rating_window_seconds):
        self.spawn('redis', ['redis-server', '--bind', '127.0.0.1', '--port', str(self.redis_port), '--save', '',
                             '--appendonly', 'no', '--dir', self.tmp, '--daemonize', 'no'])
        wait_until(lambda: subprocess.run(['redis-cli', '-p', str(self.redis_port), 'ping'], capture_output=True,
                                          text=True).stdout.strip() == 'PONG', 20, 'redis-server')
        dispatcher = ['cs-dispatcher', '--dispatcher-id', 'd1', '--presence-grace-ms', '2000']
        if rating_window_seconds is not None:
            dispatcher += ['--rating-window-seconds', str(rating_window_seconds)]
        self.spawn('dispatcher', dispatcher)
        self.spawn('notifier', ['cs-notifier', '--notifier-id', 'n1'])
        for gateway in self.gateways:
            gateway.start()

    def stop(self):
        if self in _RUNNING:
            _RUNNING.remove(self)
        for process in reversed(self.processes):
            self.stop_process(process)
        self.processes.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def gateway(self):
        return self.gateways[0]

    def add_agent(self, agent_id, name, password='secret-pw', skills='default', max_conversations=3, role='agent'):
        subprocess.run([os.path.join(self.bin_dir, 'cs-admin'), 'agent', 'add', '--redis-url', self.redis_url,
                        '--id', agent_id, '--name', name, '--password', password, '--skills', skills,
                        '--max', str(max_conversations), '--role', role], check=True, capture_output=True)

    def http(self, method, path, body=None, token=None, admin=False, gateway=None):
        headers = {'Content-Type': 'application/json'}
        if token:
            headers['Authorization'] = f'Bearer {token}'
        if admin:
            headers['X-Admin-Key'] = self.admin_key
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request((gateway or self.gateway).url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text else None), response.headers
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            return error.code, (json.loads(text) if text.startswith('{') else text), error.headers
