"""Headless Chromium sessions (Selenium) and small page helpers for the widget, the agent
console and the supervisor dashboard."""

import os
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from cluster import OUTPUT

WAIT_SECONDS = 15


def new_driver(width=1280, height=860, phone=False):
    """A headless Chromium; `phone` emulates a 390x844 touch screen (headless windows are at
    least 500 px wide, too wide for a phone layout)."""
    options = webdriver.ChromeOptions()
    if phone:
        options.add_experimental_option('mobileEmulation', {'deviceMetrics': {'width': 390, 'height': 844, 'pixelRatio': 2, 'touch': True}})
    options.binary_location = os.environ.get('CS_CHROMIUM', '/usr/bin/chromium')
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
                     f'--window-size={width},{height}', '--autoplay-policy=no-user-gesture-required'):
        options.add_argument(argument)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = ChromeService(executable_path=os.environ.get('CS_CHROMEDRIVER', '/usr/bin/chromedriver'))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(10)
    return driver


def eventually(check, timeout=WAIT_SECONDS, what='condition'):
    """Retries `check` until it returns a truthy value; returns it."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException) as error:
            last = error
        time.sleep(0.1)
    raise AssertionError(f'timed out waiting for {what}' + (f' (last error: {last})' if last else ''))


def clear_local_storage(driver, origin):
    """Empties `origin`'s localStorage through the DevTools protocol, without loading a page."""
    driver.execute_cdp_cmd('Storage.clearDataForOrigin', {'origin': origin, 'storageTypes': 'local_storage'})


def screenshot(driver, name):
    os.makedirs(OUTPUT, exist_ok=True)
    driver.save_screenshot(os.path.join(OUTPUT, f'{name}.png'))


def no_alert(driver):
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return True
    raise AssertionError(f'an alert opened: {text!r}')


def console_errors(driver):
    """Errors the page logged (failed loads, CSP violations, exceptions) since the last call."""
    return [entry['message'] for entry in driver.get_log('browser') if entry['level'] == 'SEVERE']


class WidgetPage:
    """The demo page at / with the widget in its shadow root."""

    def __init__(self, driver, base_url=None):
        self.driver = driver
        if base_url:
            driver.get(base_url + '/')
        self.root = eventually(lambda: driver.find_element(By.ID, 'cs-chat-widget').shadow_root, what='widget')

    @classmethod
    def attach(cls, driver):
        """The widget of the page the driver shows now."""
        return cls(driver)

    def find(self, selector):
        return self.root.find_element(By.CSS_SELECTOR, selector)

    def find_all(self, selector):
        return self.root.find_elements(By.CSS_SELECTOR, selector)

    def open(self):
        eventually(lambda: self.find('.launcher').is_displayed(), what='launcher')
        self.find('.launcher').click()

    def start(self, name=None):
        field = eventually(lambda: self.find('.forms input[name="name"]'), what='start form')
        if name:
            field.send_keys(name)
        self.find('.forms button[type="submit"]').click()
        eventually(lambda: self.find('.composer').is_displayed(), what='composer')

    def send(self, text):
        box = self.find('#cs-message')
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    def messages(self):
        return [li.find_element(By.CSS_SELECTOR, '.body').text for li in self.find_all('.log li.message:not(.pending)')]

    def wait_message(self, text, timeout=WAIT_SECONDS):
        return eventually(lambda: text in self.messages(), timeout, f'widget message {text!r}')

    def text(self, selector):
        return self.find(selector).text


class StaffPage:
    """The agent console (/agent) or the dashboard (/admin) after signing in."""

    def __init__(self, driver, base_url, path, agent_id, password='secret-pw'):
        self.driver = driver
        driver.get(base_url + path)
        eventually(lambda: driver.find_element(By.ID, 'agent-id').is_displayed(), what='sign-in form')
        driver.find_element(By.ID, 'agent-id').send_keys(agent_id)
        driver.find_element(By.ID, 'password').send_keys(password + Keys.ENTER)

    def find(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def find_all(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)


class AgentConsole(StaffPage):
    def __init__(self, driver, base_url, agent_id, password='secret-pw'):
        super().__init__(driver, base_url, '/agent', agent_id, password)
        eventually(lambda: self.find('#connection').text == 'Connected', what='agent connection')

    def list_item(self, customer_name):
        return next((b for b in self.find_all('.conversation-item')
                     if b.find_element(By.CSS_SELECTOR, '.customer').text == customer_name), None)

    def unread(self, customer_name):
        """The unread badge of a conversation in the list (0 without a badge, None without the item)."""
        item = self.list_item(customer_name)
        if item is None:
            return None
        badges = item.find_elements(By.CSS_SELECTOR, '.badge')
        return int(badges[0].text) if badges else 0

    def open_conversation(self, customer_name):
        # The list is redrawn as frames arrive: find and click in one retried step.
        def click():
            item = self.list_item(customer_name)
            if item is None:
                return False
            item.click()
            return True
        eventually(click, what=f'conversation with {customer_name!r}')
        eventually(lambda: self.find('#conversation-title').text == customer_name, what='conversation view')

    def messages(self):
        return [li.find_element(By.CSS_SELECTOR, '.body').text for li in self.find_all('#log li.message')]

    def wait_message(self, text, timeout=WAIT_SECONDS):
        return eventually(lambda: text in self.messages(), timeout, f'agent message {text!r}')

    def reply(self, text):
        box = self.find('#reply')
        box.send_keys(text)
        box.send_keys(Keys.ENTER)
