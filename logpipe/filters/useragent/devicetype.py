"""One word for the kind of client: desktop, mobile, tablet, bot or other.

The decision uses the parser's results first and the raw string second:

1. ``bot``: the parser calls the device a ``Spider`` (search engines, crawlers),
   or the string names automation: crawlers and monitors (``...bot``,
   ``crawler``, ``spider``, ``kube-probe``, uptime checkers), headless
   browsers, and HTTP libraries and command-line tools (curl, Wget,
   python-requests, httpx, aiohttp, Go, Java, okhttp, axios, Postman). Those
   last ones are scripts rather than people, and for GraphMemory's dashboards
   the useful split is people versus automation, so they count as bots.
2. ``tablet``: iPad, Kindle and other tablets the parser recognises, and
   Android without the ``Mobile`` token (Android tablets leave it out).
3. ``mobile``: phones: iPhone/iPod, Android, Windows Phone and other mobile
   systems, or a ``Mobi`` token.
4. ``desktop``: Windows, macOS, Linux distributions, Chrome OS, BSDs.
5. ``other``: TVs and game consoles (checked before 2-4, since they often
   claim Android, Linux or Windows), and everything unknown or empty.
"""
from __future__ import annotations

import re

from ua_parser import Result

BOT, TABLET, MOBILE, DESKTOP, OTHER = "bot", "tablet", "mobile", "desktop", "other"

_AUTOMATION = re.compile(
    r"(?<!cu)bot\b|crawl|spider|slurp|scrap|archiver|facebookexternalhit|"
    r"headless|phantomjs|lighthouse|pingdom|uptime|monitor|kube-probe|healthcheck|"
    r"prometheus|elb-healthchecker|"
    r"^(?:curl|wget|python|httpie|go-http-client|java|okhttp|apache-httpclient|axios|node-fetch|"
    r"undici|postmanruntime|insomnia|libwww-perl|lwp|ruby|php|guzzlehttp|dart|rest-client|"
    r"grpc|http\.rb|faraday|powershell|winhttp)\b|"
    r"python-(?:requests|httpx|urllib)|aiohttp|\bhttpx\b|requests/",
    re.IGNORECASE)
_TABLET_FAMILIES = re.compile(r"ipad|kindle|tablet|galaxy tab|nexus (?:7|9|10)|xoom|playbook|"
                              r"sm-t\d|sm-x\d|lenovo tab|mediapad", re.IGNORECASE)
_TV_OR_CONSOLE = re.compile(r"\bTV\b|smart-?tv|\bAFT[A-Z]|bravia|roku|playstation|xbox|nintendo|"
                            r"web0s|tizen(?! mobile)|hbbtv|crkey", re.IGNORECASE)
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "BlackBerry Tablet OS",
                        "KaiOS", "Symbian OS", "Firefox OS", "Sailfish", "Tizen Mobile",
                        "HarmonyOS", "webOS", "Bada", "MeeGo"})
_DESKTOP_OS = re.compile(r"^(?:Windows(?! Phone| Mobile| CE| RT)|Mac OS|macOS|Linux|Ubuntu|Debian|"
                         r"Fedora|Red Hat|CentOS|Mint|Arch Linux|SUSE|openSUSE|Gentoo|Mandriva|"
                         r"Slackware|Chrome OS|ChromeOS|FreeBSD|OpenBSD|NetBSD|Solaris|Kubuntu|"
                         r"Xubuntu|elementary)")


def device_type(result: Result, ua: str) -> str:
    """Classify one parsed User-Agent (see the module docstring for the rules)."""
    device = result.device
    if device is not None and device.family == "Spider":
        return BOT
    if _AUTOMATION.search(ua):
        return BOT
    if _TV_OR_CONSOLE.search(ua):
        return OTHER
    os_name = result.os.family if result.os is not None else None
    if device is not None:
        if _TABLET_FAMILIES.search(device.family) or (
                device.brand is not None and "Tablet" in device.brand):
            return TABLET
        if device.family in ("iPhone", "iPod"):
            return MOBILE
    if os_name == "Android":
        return MOBILE if "Mobile" in ua else TABLET
    if "Tablet" in ua:
        return TABLET
    if os_name in _MOBILE_OS or "Mobi" in ua:
        return MOBILE
    if os_name is not None and _DESKTOP_OS.match(os_name):
        return DESKTOP
    if device is not None and device.family == "Mac":
        return DESKTOP
    return OTHER
