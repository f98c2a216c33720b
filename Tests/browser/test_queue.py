"""Waiting customers: the queue position when the only agent is full, and the leave-a-message
form when no agent is online."""

import unittest

from browser import AgentConsole, WidgetPage, eventually, new_driver, screenshot
from cluster import Cluster


class QueueTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(gateways=1)
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.cluster.add_agent('solo', 'Solo', max_conversations=1)
        cls.url = cls.cluster.gateway.url

    def customer(self, name, first):
        driver = new_driver()
        self.addCleanup(driver.quit)
        widget = WidgetPage(driver, self.url)
        widget.open()
        widget.start(name)
        widget.send(first)
        widget.wait_message(first)
        return widget

    def test_queue_position_then_leave_a_message(self):
        agent_driver = new_driver()
        self.addCleanup(agent_driver.quit)
        agent = AgentConsole(agent_driver, self.url, 'solo')
        first = self.customer('First', 'I am first')
        eventually(lambda: 'Solo' in first.text('.status'), what='first customer assigned')
        second = self.customer('Second', 'I am second')
        eventually(lambda: 'number 1 in the queue' in second.text('.queue'), what='queue position')
        self.assertIn('Estimated wait', second.text('.queue'))
        screenshot(second.driver, 'widget-queue')

        # The agent signs off: nobody is online, so a new customer is offered the form.
        agent.find('#presence').send_keys('Offline')
        eventually(lambda: self.cluster.http('GET', '/v1/stats/live', admin=True)[1]['agents'][0]['status'] == 'offline',
                   what='agent offline')
        third = self.customer('Third', 'Anyone there?')
        form = eventually(lambda: third.find('.forms form[aria-label="Leave a message"]'), what='leave-a-message form')
        form.find_element('css selector', 'input[name="email"]').send_keys('third@example.com')
        form.find_element('css selector', 'textarea[name="text"]').send_keys('Please call me back about order 1234.')
        screenshot(third.driver, 'widget-offline-form')
        form.find_element('css selector', 'button[type="submit"]').click()
        eventually(lambda: 'Thank you' in third.text('.forms'), what='offline message sent')
        third.wait_message('Please call me back about order 1234.')


if __name__ == '__main__':
    unittest.main()
