"""The gateway's page headers (Content-Type, Cache-Control, CSP) and the WebSocket Origin check."""

import http.client
import unittest

from cluster import Cluster


def upgrade(port, origin=None):
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    headers = {'Connection': 'Upgrade', 'Upgrade': 'websocket', 'Sec-WebSocket-Version': '13',
               'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}
    if origin:
        headers['Origin'] = origin
    connection.request('GET', '/v1/ws?token=x', headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


class HTTPTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(gateways=1, gateway_args=['--allowed-origins', 'https://shop.example.com, http://localhost:3000'])
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.port = cls.cluster.gateway.port

    def get(self, path, headers=None):
        connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=5)
        connection.request('GET', path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response, body

    def test_pages_have_types_caching_and_csp(self):
        for path in ('/', '/agent', '/admin'):
            response, body = self.get(path)
            self.assertEqual(response.status, 200, path)
            self.assertEqual(response.getheader('Content-Type'), 'text/html; charset=utf-8')
            self.assertEqual(response.getheader('Cache-Control'), 'no-cache')
            csp = response.getheader('Content-Security-Policy')
            self.assertIn("script-src 'self'", csp)
            self.assertIn('connect-src', csp)
            self.assertNotIn(b'<script>', body, 'no inline scripts')
        response, _ = self.get('/widget.js')
        self.assertEqual(response.getheader('Content-Type'), 'text/javascript; charset=utf-8')
        etag = response.getheader('ETag')
        self.assertEqual(self.get('/widget.js', {'If-None-Match': etag})[0].status, 304)
        self.assertEqual(self.get('/css/widget.css')[0].getheader('Content-Type'), 'text/css; charset=utf-8')
        self.assertEqual(self.get('/nope.js')[0].status, 404)

    def test_websocket_origin_check(self):
        self.assertEqual(upgrade(self.port), 101, 'no Origin: a non-browser client')
        self.assertEqual(upgrade(self.port, f'http://127.0.0.1:{self.port}'), 101, "the gateway's own origin")
        self.assertEqual(upgrade(self.port, 'https://shop.example.com'), 101, 'allowed')
        self.assertEqual(upgrade(self.port, 'http://localhost:3000'), 101, 'allowed')
        for origin in ('https://evil.example', 'null', 'https://shop.example.com.evil.example', 'http://shop.example.com'):
            self.assertNotEqual(upgrade(self.port, origin), 101, origin)


class AgentAPITests(unittest.TestCase):
    """GET/POST /v1/agents, PATCH/DELETE /v1/agents/{id}: supervisors or the admin key only."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(gateways=1)
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.cluster.add_agent('alice', 'Alice')
        cls.cluster.add_agent('sue', 'Sue', role='supervisor')

    def token(self, agent_id, password='secret-pw'):
        status, body, _ = self.cluster.http('POST', '/v1/agent/login', {'agentId': agent_id, 'password': password})
        return body['token'] if status == 200 else None

    def test_manage_agents(self):
        http = self.cluster.http
        self.assertEqual(http('GET', '/v1/agents')[0], 401)
        self.assertEqual(http('GET', '/v1/agents', token=self.token('alice'))[0], 403)
        status, body, _ = http('GET', '/v1/agents', token=self.token('sue'))
        self.assertEqual((status, [a['id'] for a in body['agents']]), (200, ['alice', 'sue']))
        new = {'id': 'bob', 'name': ' Bob ', 'password': 'bob-secret', 'skills': ['default', 'billing'], 'maxConversations': 2}
        status, body, _ = http('POST', '/v1/agents', new, admin=True)
        self.assertEqual(status, 201, body)
        self.assertEqual(body, {'id': 'bob', 'name': 'Bob', 'role': 'agent', 'skills': ['default', 'billing'], 'maxConversations': 2, 'load': 0})
        self.assertEqual(http('POST', '/v1/agents', new, admin=True)[1]['error']['code'], 'invalid_field')
        self.assertEqual(http('POST', '/v1/agents', {**new, 'id': 'bad id'}, admin=True)[0], 400)
        self.assertEqual(http('POST', '/v1/agents', {**new, 'id': 'carl', 'maxConversations': 0}, admin=True)[0], 400)
        self.assertIsNotNone(self.token('bob', 'bob-secret'))
        status, body, _ = http('PATCH', '/v1/agents/bob', {'maxConversations': 5, 'name': 'Bobby'}, token=self.token('sue'))
        self.assertEqual((status, body['maxConversations'], body['name'], body['skills']), (200, 5, 'Bobby', ['default', 'billing']))
        self.assertEqual(http('PATCH', '/v1/agents/bob', {'role': 'supervisor'}, admin=True)[0], 400)
        self.assertEqual(http('PATCH', '/v1/agents/nobody', {'name': 'X'}, admin=True)[0], 404)
        self.assertEqual(http('DELETE', '/v1/agents/sue', token=self.token('sue'))[0], 400, 'not yourself')
        self.assertEqual(http('DELETE', '/v1/agents/bob', token=self.token('alice'))[0], 403)
        self.assertEqual(http('DELETE', '/v1/agents/bob', admin=True)[0], 204)
        self.assertEqual(http('DELETE', '/v1/agents/bob', admin=True)[0], 404)
        self.assertIsNone(self.token('bob', 'bob-secret'))


if __name__ == '__main__':
    unittest.main()
