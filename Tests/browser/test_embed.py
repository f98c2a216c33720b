"""The widget embedded in another site's page (another origin): it loads its modules and calls
the API across origins and connects when that origin is allowed (`--allowed-origins`), and is
refused when it is not."""

import functools
import http.server
import os
import shutil
import tempfile
import threading
import unittest

from browser import AgentConsole, WidgetPage, eventually, new_driver, no_alert
from cluster import Cluster, free_port

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another shop</title></head>
<body><h1>Another shop</h1>
<script src="{gateway}/widget.js" data-gateway="{gateway}" data-title="Shop help" async></script>
</body></html>
"""


class EmbedTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site_port = free_port()
        cls.site_dir = tempfile.mkdtemp(prefix='cs-site-')
        cls.addClassCleanup(shutil.rmtree, cls.site_dir, ignore_errors=True)
        handler = functools.partial(QuietHandler, directory=cls.site_dir)
        cls.site = http.server.ThreadingHTTPServer(('127.0.0.1', cls.site_port), handler)
        threading.Thread(target=cls.site.serve_forever, daemon=True).start()
        # 127.0.0.1:<port> is allowed; localhost:<port> is the same server under another origin.
        cls.addClassCleanup(cls.site.shutdown)
        cls.cluster = Cluster(gateways=1, gateway_args=['--allowed-origins', f'http://127.0.0.1:{cls.site_port}'])
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.cluster.add_agent('alice', 'Alice')
        with open(os.path.join(cls.site_dir, 'index.html'), 'w') as page:
            page.write(HOST_PAGE.format(gateway=cls.cluster.gateway.url))

    def driver(self):
        driver = new_driver()
        self.addCleanup(driver.quit)
        return driver

    def test_allowed_site_chats(self):
        agent = AgentConsole(self.driver(), self.cluster.gateway.url, 'alice')
        widget = WidgetPage(self.driver(), f'http://127.0.0.1:{self.site_port}')
        self.assertEqual(widget.find('header h2').get_attribute('textContent'), 'Shop help')
        widget.open()
        widget.start('Eve')
        widget.send('Hello from another site')
        widget.wait_message('Hello from another site')
        agent.open_conversation('Eve')
        agent.reply('Welcome!')
        widget.wait_message('Welcome!')
        no_alert(widget.driver)

    def test_other_site_is_refused(self):
        widget = WidgetPage(self.driver(), f'http://localhost:{self.site_port}')
        widget.open()
        widget.find('.forms button[type="submit"]').click()
        eventually(lambda: 'cannot be reached' in widget.text('.forms .form-error'), what='refused session')
        self.assertTrue(widget.find('.composer').get_attribute('hidden') is not None)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == '__main__':
    unittest.main()
