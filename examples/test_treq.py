"""
treq on top of C{agent()}: C{HTTPClient(self.agent())} fetches from this
test's servers, over HTTP or verified HTTPS, and its pool closes with the
test.  C{url()} gives a C{str} URL for a C{str} path, as treq likes.
"""

import json
from importlib.util import find_spec

from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from trialnet import NetworkTestCase

_NO_TREQ = None if find_spec("treq") else "treq is not installed (trialnet[test])"


class Status(Resource):
    """
    Reports, in JSON, whether the service is up and which path was asked.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"up": True, "path": request.path.decode()}).encode()


class TreqTests(NetworkTestCase):
    """
    L{Status} through treq.
    """

    skip = _NO_TREQ

    async def test_json(self) -> None:
        """
        A GET through treq returns the JSON document over HTTP.
        """
        from treq.client import HTTPClient

        port = self.listen(Site(Status()))
        client = HTTPClient(self.agent())
        response = await client.get(self.url(port, "/status"))
        self.assertEqual(response.code, 200)
        self.assertEqual(await response.json(), {"up": True, "path": "/status"})

    async def test_https(self) -> None:
        """
        The same over HTTPS, verified against the run's authority.
        """
        from treq.client import HTTPClient

        port = self.listenTLS(Site(Status()))
        client = HTTPClient(self.agent())
        url = self.url(port, "/")
        self.assertTrue(url.startswith("https://"))
        response = await client.get(url)
        self.assertEqual(await response.json(), {"up": True, "path": "/"})
