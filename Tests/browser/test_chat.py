"""Customer widget and agent console against a real system: chat both ways, canned responses,
read ticks, rating after close, XSS payloads, reconnect after a gateway restart, screenshots."""

import json
import time
import unittest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import AgentConsole, StaffPage, WidgetPage, clear_local_storage, console_errors, eventually, new_driver, no_alert, screenshot
from cluster import Cluster

XSS_NAME = '<img src=x onerror="alert(1)">Mallory'
XSS_BODY = '<script>alert(2)</script><b id="injected">bold?</b><img src=x onerror=alert(3)>'


class ChatTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # gw1 serves customers, gw2 the agent: a restart of gw1 leaves the agent connected.
        cls.cluster = Cluster(gateways=2)
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start(rating_window_seconds=3600)
        cls.cluster.add_agent('alice', 'Alice', max_conversations=10)
        cls.cluster.add_agent('sue', 'Sue Super', role='supervisor', skills='supervision')
        status, _, _ = cls.cluster.http('PUT', '/v1/canned-responses/team/thanks', {'text': 'Thank you for waiting!'}, token=cls.login('sue'))
        assert status == 200, status
        cls.customer_url = cls.cluster.gateways[0].url
        cls.agent_url = cls.cluster.gateways[1].url
        cls.agent_driver = new_driver()
        cls.addClassCleanup(cls.agent_driver.quit)
        cls.agent = AgentConsole(cls.agent_driver, cls.agent_url, 'alice')
        # Count the oscillators the new-conversation beep starts (WebAudio, no sound card needed).
        cls.agent_driver.execute_script(
            'window.__tones = 0; const start = OscillatorNode.prototype.start;'
            'OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args); };')
        cls.customer_driver = new_driver()
        cls.addClassCleanup(cls.customer_driver.quit)

    @classmethod
    def login(cls, agent_id, password='secret-pw'):
        status, body, _ = cls.cluster.http('POST', '/v1/agent/login', {'agentId': agent_id, 'password': password})
        assert status == 200, body
        return body['token']

    def new_customer(self, name):
        """A fresh visitor (empty localStorage) who opens the widget and starts a chat."""
        driver = self.customer_driver
        # Empty the origin's storage before the widget loads (clearing it afterwards raced with
        # the widget reading the previous session).
        clear_local_storage(driver, self.customer_url)
        driver.get(self.customer_url + '/')
        widget = WidgetPage(driver, self.customer_url)
        widget.open()
        widget.start(name)
        return widget

    def visitor_token(self):
        data = self.customer_driver.execute_script("return Object.entries(localStorage).find(([k]) => k.startsWith('cs-widget:'))[1]")
        return json.loads(data)

    def chat(self, name, first='Hello, my order has not arrived.'):
        tones = self.agent_driver.execute_script('return window.__tones')
        widget = self.new_customer(name)
        widget.send(first)
        widget.wait_message(first)
        # The console shows and sounds an alert for the new conversation.
        eventually(lambda: f'New conversation with {name}' in self.agent.find('#toasts').text, what='visible alert')
        eventually(lambda: self.agent_driver.execute_script('return window.__tones') > tones, what='audible alert')
        eventually(lambda: self.agent.unread(name) == 1, what='unread count in the list')
        self.agent.open_conversation(name)
        eventually(lambda: self.agent.unread(name) == 0, what='unread count cleared')
        self.agent.wait_message(first)
        return widget

    def test_chat_both_ways_with_canned_response_typing_and_read_ticks(self):
        widget = self.chat('Ann')
        eventually(lambda: 'Alice' in widget.text('.status'), what='agent name in the widget header')
        self.agent.reply('Hi Ann, let me check.')
        widget.wait_message('Hi Ann, let me check.')
        # Canned response by shortcut: "/tha" + Enter picks it, Enter again sends it.
        box = self.agent.find('#reply')
        box.send_keys('/tha')
        eventually(lambda: self.agent.find('#canned').is_displayed(), what='canned list')
        box.send_keys(Keys.ENTER)
        self.assertEqual(box.get_attribute('value'), 'Thank you for waiting!')
        box.send_keys(Keys.ENTER)
        widget.wait_message('Thank you for waiting!')
        # Typing indicator, customer -> agent.
        widget.find('#cs-message').send_keys('still there')
        eventually(lambda: 'typing' in self.agent.find('#typing').text, what='typing indicator in the console')
        widget.find('#cs-message').send_keys(Keys.ENTER)
        self.agent.wait_message('still there')
        # The agent has the conversation open, so the customer's messages get read ticks.
        eventually(lambda: any(t.text == '✓✓' for t in widget.find_all('.log li.mine .tick')), what='read tick in the widget')
        # The widget (open, visible) read the agent's replies.
        eventually(lambda: any(t.text == '✓✓' for t in self.agent.find_all('#log li.mine .tick')), what='read tick in the console')
        screenshot(self.customer_driver, 'widget')
        screenshot(self.agent_driver, 'agent-console')
        no_alert(self.customer_driver)
        self.assertEqual(console_errors(self.customer_driver), [])
        self.assertEqual(console_errors(self.agent_driver), [])

    def test_keyboard_only(self):
        """Tab reaches the launcher, Enter opens the panel with the focus in it, Escape closes it."""
        driver = self.customer_driver
        # Empty the origin's storage before the widget loads (clearing it afterwards raced with
        # the widget reading the previous session).
        clear_local_storage(driver, self.customer_url)
        driver.get(self.customer_url + '/')
        widget = WidgetPage(driver, self.customer_url)
        eventually(lambda: widget.find('.launcher').is_displayed(), what='launcher')
        keys = ActionChains(driver)
        focused = lambda: driver.execute_script(
            'let e = document.activeElement; while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;'
            'return e && (e.id || e.className)')
        for _ in range(10):
            keys.send_keys(Keys.TAB).perform()
            if focused() == 'launcher':
                break
        self.assertEqual(focused(), 'launcher')
        keys.send_keys(Keys.ENTER).perform()
        eventually(lambda: focused().startswith('cs-field'), what='focus in the name field')
        keys.send_keys('Kim', Keys.ENTER).perform()
        eventually(lambda: focused() == 'cs-message', what='focus in the message box')
        keys.send_keys('Typed with the keyboard', Keys.ENTER).perform()
        widget.wait_message('Typed with the keyboard')
        keys.send_keys(Keys.ESCAPE).perform()
        eventually(lambda: focused() == 'launcher', what='focus back on the launcher')
        self.assertIsNotNone(widget.find('.panel').get_attribute('hidden'))

    def test_phone_sized_widget(self):
        driver = new_driver(phone=True)
        try:
            driver.get(self.customer_url + '/')
            widget = WidgetPage(driver, self.customer_url)
            widget.open()
            widget.start('Pat')
            widget.send('Hello from my phone')
            widget.wait_message('Hello from my phone')
            panel = widget.find('.panel')
            self.assertEqual(panel.size['width'], 390, 'the panel fills a phone screen')
            screenshot(driver, 'widget-phone')
        finally:
            driver.quit()

    def test_rating_after_close(self):
        widget = self.chat('Rita')
        self.agent.find('#close').click()
        self.agent_driver.switch_to.alert.accept()
        eventually(lambda: widget.find('.forms form.rating'), what='rating form')
        widget.find('.forms label[for="cs-star-4"]').click()
        widget.find('.forms textarea[name="comment"]').send_keys('Quick and friendly <b>thanks</b>')
        screenshot(self.customer_driver, 'widget-rating-form')
        widget.find('.forms form.rating button[type="submit"]').click()
        eventually(lambda: 'Thank you for your rating' in widget.text('.forms'), what='rating confirmation')
        self.assertIn('Quick and friendly <b>thanks</b>', widget.text('.forms'))
        screenshot(self.customer_driver, 'widget-rating')
        session = self.visitor_token()
        status, body, _ = self.cluster.http('GET', f"/v1/conversations/{session['conversationId']}/rating", token=session['token'])
        self.assertEqual(status, 200, body)
        self.assertEqual(body['rating']['score'], 4)
        # The customer may change it within the window.
        widget.find('.forms .link-button').click()
        widget.find('.forms label[for="cs-star-5"]').click()
        widget.find('.forms form.rating button[type="submit"]').click()
        eventually(lambda: '(5/5)' in widget.text('.forms'), what='changed rating')
        ChatTests.rated = True

    def test_transfer_to_another_agent(self):
        widget = self.chat('Tom', first='I have a billing question')
        driver = new_driver()
        self.addCleanup(driver.quit)
        sue = AgentConsole(driver, self.agent_url, 'sue')
        self.agent.find('#transfer').click()
        self.agent.find('#transfer-to').send_keys('sue')
        self.agent.find('#transfer-note').send_keys('billing <question>')
        self.agent.find('#transfer-form button[value="transfer"]').click()
        eventually(lambda: 'transferred' in self.agent.find('#conversation-info').text, what='transferred in the first console')
        sue.open_conversation('Tom')
        sue.wait_message('I have a billing question')
        eventually(lambda: 'Note: billing <question>' in sue.find('#log').text, what='the note')
        eventually(lambda: 'Sue Super' in widget.text('.status'), what='the new agent in the widget')
        self.assertNotIn('billing <question>', widget.text('.log'), 'the note is for staff only')
        sue.reply('Sue here, from billing.')
        widget.wait_message('Sue here, from billing.')

    def test_xss_in_name_and_message_is_inert_text(self):
        widget = self.chat(XSS_NAME, first=XSS_BODY)
        self.agent.reply(XSS_BODY)
        widget.wait_message(XSS_BODY)
        for driver in (self.agent_driver, self.customer_driver):
            no_alert(driver)
            self.assertEqual(driver.find_elements(By.ID, 'injected'), [])
            self.assertEqual(driver.find_elements(By.CSS_SELECTOR, 'img[src="x"]'), [])
        self.assertEqual(widget.find_all('#injected'), [])
        self.assertEqual(widget.find_all('img'), [])
        self.assertEqual(self.agent.find('#conversation-title').text, XSS_NAME)
        self.assertIn(XSS_BODY, self.agent.messages())

    def test_y_supervisor_dashboard(self):
        """Live view, CSAT (with the rating above), agents, canned responses, broadcast."""
        widget = self.chat('Dora', first='Is the dashboard watching?')
        driver = new_driver(1280, 1400)
        self.addCleanup(driver.quit)
        page = StaffPage(driver, self.agent_url, '/admin', 'sue')
        eventually(lambda: page.find('#connection').text == 'Connected', what='dashboard connection')
        eventually(lambda: 'Alice' in page.find('#agent-load').text, what='agents with their load')
        eventually(lambda: 'Waiting' in page.find('#stat-cards').text, what='live numbers')
        eventually(lambda: page.find('#csat-chart svg'), what='CSAT chart')
        eventually(lambda: 'Is the dashboard watching?' in page.find('#open-conversations').text, what='open conversations')
        # Add an agent, then change its capacity.
        for field, value in (('#a-id', 'bob'), ('#a-name', 'Bob <i>B</i>'), ('#a-password', 'bob-secret'), ('#a-max', Keys.BACKSPACE + '2')):
            page.find(field).send_keys(value)
        page.find('#agent-form button[type="submit"]').click()
        row = eventually(lambda: next((r for r in page.find_all('#agent-rows tr') if r.text.startswith('bob')), None), what='new agent row')
        capacity = row.find_element(By.CSS_SELECTOR, 'input[type="number"]')
        capacity.clear()
        capacity.send_keys('4')
        row.find_element(By.CSS_SELECTOR, 'button.secondary').click()
        eventually(lambda: any(a['id'] == 'bob' and a['maxConversations'] == 4 for a in
                               self.cluster.http('GET', '/v1/agents', admin=True, gateway=self.cluster.gateways[1])[1]['agents']), what='capacity saved')
        # A team canned response.
        page.find('#c-shortcut').send_keys('hello')
        page.find('#c-text').send_keys('Hello! How can I help?')
        page.find('#canned-form button[type="submit"]').click()
        eventually(lambda: '/hello' in page.find('#canned-rows').text, what='canned response row')
        # A broadcast.
        page.find('#b-body').send_keys('Maintenance at 22:00')
        page.find('#broadcast-form button[type="submit"]').click()
        eventually(lambda: 'Maintenance at 22:00' in page.find('#notification-rows').text, what='sent notification', timeout=20)
        # Everyone connected gets it: the customer's widget and the agent's console.
        eventually(lambda: 'Maintenance at 22:00' in widget.text('.notices'), what='notice in the widget')
        eventually(lambda: 'Maintenance at 22:00' in self.agent.find('#toasts').text, what='notice in the console')
        if getattr(ChatTests, 'rated', False):
            self.assertEqual(page.find('#csat-total').text.split()[:2], ['Total', '1'], 'the rating of the rating test')
        no_alert(driver)
        driver.execute_script('window.scrollTo(0, 0)')
        screenshot(driver, 'admin-dashboard')
        self.assertEqual(console_errors(driver), [])

    def test_z_widget_reconnects_after_gateway_restart(self):
        widget = self.chat('Rick')
        customer_gateway = self.cluster.gateways[0]
        customer_gateway.stop()
        eventually(lambda: 'Reconnecting' in widget.text('.connection') or 'Connecting' in widget.text('.connection'), what='widget notices the drop')
        self.agent.reply('First while you were away')
        self.agent.reply('Second while you were away')
        self.agent.wait_message('Second while you were away')
        customer_gateway.start()
        widget.wait_message('Second while you were away', timeout=30)
        messages = widget.messages()
        self.assertEqual(messages.count('First while you were away'), 1)
        self.assertEqual(messages.count('Second while you were away'), 1)
        self.assertLess(messages.index('First while you were away'), messages.index('Second while you were away'))
        widget.send('Back again')
        self.agent.wait_message('Back again')
        # A reload resumes the same visitor and conversation from the start (resume=<id>:0).
        self.customer_driver.refresh()
        widget = WidgetPage.attach(self.customer_driver)
        widget.open()
        widget.wait_message('Back again')
        self.assertEqual(widget.messages().count('First while you were away'), 1)


if __name__ == '__main__':
    unittest.main()
