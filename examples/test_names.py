"""
Code under test configured with C{https://api.example.com/}, tested against
a fake of that service without changing its configuration: C{mapName()}
sends the name to one of this test's ports, through the reactor's name
resolver, for the length of the test, and the run's certificate covers it.
"""

import json
from importlib.util import find_spec
from typing import Any

from twisted.web.client import Agent, readBody
from twisted.web.iweb import IPolicyForHTTPS
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from trialnet import NetworkTestCase

_NO_TLS = (
    None
    if find_spec("trustme") and find_spec("OpenSSL")
    else "HTTPS needs trialnet[tls] (pyOpenSSL, service_identity, trustme)"
)
_NO_TREQ = None if find_spec("treq") else "treq is not installed (trialnet[test])"


# The code under test: a client of a forecast service, at the URL its
# configuration names, with the Agent it makes itself.


class Weather:
    """
    Asks the forecast service for a city's sky.
    """

    def __init__(
        self, baseURL: str, reactor: Any, tlsPolicy: IPolicyForHTTPS | None = None
    ) -> None:
        self.baseURL = baseURL.rstrip("/")
        if tlsPolicy is None:
            self.agent = Agent(reactor)
        else:
            self.agent = Agent(reactor, contextFactory=tlsPolicy)

    async def sky(self, city: str) -> str:
        url = f"{self.baseURL}/forecast/{city}".encode("ascii")
        response = await self.agent.request(b"GET", url)
        forecast = json.loads(await readBody(response))
        return str(forecast["sky"])


class TreqWeather(Weather):
    """
    The same, through treq.
    """

    async def sky(self, city: str) -> str:
        from treq.client import HTTPClient

        client = HTTPClient(self.agent)
        response = await client.get(f"{self.baseURL}/forecast/{city}")
        forecast = await response.json()
        return str(forecast["sky"])


# Its tests, against a fake of the service.


class FakeForecasts(Resource):
    """
    Sunny everywhere; says which host it was asked as.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        city = request.path.decode().rsplit("/", 1)[-1]
        host = (request.getHeader(b"host") or b"").decode()
        return json.dumps({"city": city, "sky": "sunny", "host": host}).encode()


def reactor() -> Any:
    from twisted.internet import reactor

    return reactor


class WeatherTests(NetworkTestCase):
    """
    L{Weather} as configured for production, against L{FakeForecasts}.
    """

    async def test_http(self) -> None:
        """
        C{http://api.example.com/} reaches the fake, port 80 as the code
        thinks.
        """
        port = self.listen(Site(FakeForecasts()))
        self.mapName("api.example.com", port)
        weather = Weather("http://api.example.com/", reactor())
        self.assertEqual(await weather.sky("paris"), "sunny")

    async def test_https(self) -> None:
        """
        C{https://api.example.com/} reaches the fake over TLS, verified for
        C{api.example.com} against the run's authority, which the code under
        test is given to trust.
        """
        if _NO_TLS:
            self.skipTest(_NO_TLS)
        port = self.listenTLS(Site(FakeForecasts()))
        self.mapName("api.example.com", port)
        weather = Weather(
            "https://api.example.com/",
            reactor(),
            tlsPolicy=self.tlsAuthority.policyForHTTPS(),
        )
        self.assertEqual(await weather.sky("paris"), "sunny")

    async def test_agent(self) -> None:
        """
        The test's own C{agent()} follows the mapping too: here, to look at
        what the fake answers.
        """
        if _NO_TLS:
            self.skipTest(_NO_TLS)
        port = self.listenTLS(Site(FakeForecasts()))
        self.mapName("api.example.com", port)
        response = await self.agent().request(
            b"GET", b"https://api.example.com/forecast/oslo"
        )
        answer = json.loads(await readBody(response))
        self.assertEqual(answer["host"], "api.example.com")


class TreqWeatherTests(NetworkTestCase):
    """
    L{TreqWeather}, the same through treq.
    """

    skip = _NO_TREQ

    async def test_http(self) -> None:
        """
        treq reaches the fake at C{http://api.example.com/}.
        """
        port = self.listen(Site(FakeForecasts()))
        self.mapName("api.example.com", port)
        weather = TreqWeather("http://api.example.com/", reactor())
        self.assertEqual(await weather.sky("lima"), "sunny")

    async def test_https(self) -> None:
        """
        treq reaches the fake at C{https://api.example.com/}, verified.
        """
        if _NO_TLS:
            self.skipTest(_NO_TLS)
        port = self.listenTLS(Site(FakeForecasts()))
        self.mapName("api.example.com", port)
        weather = TreqWeather(
            "https://api.example.com/",
            reactor(),
            tlsPolicy=self.tlsAuthority.policyForHTTPS(),
        )
        self.assertEqual(await weather.sky("lima"), "sunny")
