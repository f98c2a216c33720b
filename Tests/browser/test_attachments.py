"""Attachments in the browser: a customer attaches an image and a PDF in the widget (file
chooser), sees the upload's progress bar come and go and the image as a thumbnail; the agent
console shows the image as a loaded thumbnail and the PDF as a download link; a file the agent
drops on the conversation reaches the widget as a link."""

import base64
import os
import shutil
import tempfile
import unittest

from selenium.webdriver.common.by import By

from browser import AgentConsole, WidgetPage, clear_local_storage, console_errors, eventually, new_driver, screenshot
from cluster import Cluster

# A 1x1 PNG: the browser must decode it (naturalWidth > 0), so it has to be a real image.
PNG = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')
PDF = b'%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n'


class AttachmentTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = tempfile.mkdtemp(prefix='cs-browser-files-')
        cls.store = tempfile.mkdtemp(prefix='cs-browser-attachments-')
        cls.addClassCleanup(shutil.rmtree, cls.files, ignore_errors=True)
        cls.addClassCleanup(shutil.rmtree, cls.store, ignore_errors=True)
        cls.cluster = Cluster(gateway_args=['--attachments-dir', cls.store])
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.cluster.add_agent('alice', 'Alice', max_conversations=10)
        cls.url = cls.cluster.gateways[0].url
        cls.agent_driver = new_driver()
        cls.addClassCleanup(cls.agent_driver.quit)
        cls.agent = AgentConsole(cls.agent_driver, cls.url, 'alice')
        cls.customer_driver = new_driver()
        cls.addClassCleanup(cls.customer_driver.quit)

    def write(self, name, data):
        path = os.path.join(self.files, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def choose_file(self, widget, path):
        chooser = widget.find('input.attachment-input')
        # The chooser is hidden behind the attach button; Selenium types into visible inputs only.
        self.customer_driver.execute_script('arguments[0].hidden = false;', chooser)
        chooser.send_keys(path)

    def test_widget_upload_is_shown_in_the_console(self):
        driver = self.customer_driver
        clear_local_storage(driver, self.url)
        driver.get(self.url + '/')
        widget = WidgetPage(driver, self.url)
        widget.open()
        widget.start('Pia')
        widget.send('I have a screenshot')
        widget.wait_message('I have a screenshot')
        self.agent.open_conversation('Pia')
        self.agent.wait_message('I have a screenshot')
        self.assertTrue(widget.find('.attach-button').is_displayed())

        self.choose_file(widget, self.write('screen shot.png', PNG))
        # The customer's own message shows the image as a loaded thumbnail.
        eventually(lambda: any(driver.execute_script('return arguments[0].complete && arguments[0].naturalWidth', img)
                               for img in widget.find_all('.log li.message:not(.pending) img.attachment-thumb')),
                   what='thumbnail in the widget')
        self.assertFalse(widget.find('.attachment-progress').is_displayed(), 'the progress bar goes after the upload')
        # The console shows it too, loaded through a signed link of its own.
        thumb = eventually(lambda: next(iter(self.agent.find_all('#log li.message img.attachment-thumb')), None), what='thumbnail in the console')
        eventually(lambda: self.agent_driver.execute_script('return arguments[0].complete && arguments[0].naturalWidth', thumb) > 0,
                   what='console thumbnail loaded')
        self.assertIn('/v1/attachments/', thumb.get_attribute('src'))
        self.assertIn('token=', thumb.get_attribute('src'))
        self.assertEqual(thumb.get_attribute('alt'), 'screen shot.png')

        self.choose_file(widget, self.write('invoice.pdf', PDF))
        link = eventually(lambda: next((a for a in self.agent.find_all('#log li.message a.attachment-file') if 'invoice.pdf' in a.text), None),
                          what='PDF link in the console')
        self.assertIn('invoice.pdf (48 B)', link.text)

        # The agent drops a text file on the conversation (a synthetic drop with a real File):
        # it is uploaded and shows in the widget as a download link.
        self.agent_driver.execute_script(
            "const data = new DataTransfer();"
            "data.items.add(new File(['Tracking number: 42\\n'], 'tracking.txt', { type: 'text/plain' }));"
            "document.getElementById('conversation-body').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));")
        eventually(lambda: any('tracking.txt' in a.text for a in widget.find_all('.log li.message a.attachment-file')),
                   what='dropped file in the widget')

        # A file of another type is refused with the server's reason, and nothing is sent.
        self.choose_file(widget, self.write('tool.exe', b'MZ\x90\x00\x03\x00\x00\x00' * 64))
        eventually(lambda: 'tool.exe was not sent' in widget.find('.log').text, what='refusal shown in the widget')
        screenshot(driver, 'attachments-widget')
        screenshot(self.agent_driver, 'attachments-console')
        self.assertEqual(console_errors(self.agent_driver), [])


if __name__ == '__main__':
    unittest.main()
