"""
A twisted.web resource tested end to end, over HTTP and over HTTPS, as Go's
httptest would: serve it with C{listen()} or C{listenTLS()}, fetch it with
C{agent()} at C{url(port)}.
"""

from importlib.util import find_spec
from io import BytesIO

from twisted.internet.interfaces import IListeningPort
from twisted.web.client import FileBodyProducer, readBody
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from trialnet import NetworkTestCase

_NO_TLS = (
    None
    if find_spec("trustme") and find_spec("OpenSSL")
    else "HTTPS needs trialnet[tls] (pyOpenSSL, service_identity, trustme)"
)


class Notes(Resource):
    """
    Keeps notes: C{POST} adds the body as a note, C{GET} lists them, one a
    line, and says whether the request came over TLS.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[bytes] = []

    def render_GET(self, request: Request) -> bytes:
        scheme = b"https" if request.isSecure() else b"http"
        request.setHeader(b"x-scheme", scheme)
        return b"".join(note + b"\n" for note in self.notes)

    def render_POST(self, request: Request) -> bytes:
        assert request.content is not None
        self.notes.append(request.content.read())
        request.setResponseCode(201)
        return b""


class NotesMixin:
    """
    The same tests over plain HTTP and over TLS.
    """

    secure = False

    def serve(self, case: NetworkTestCase) -> IListeningPort:
        listen = case.listenTLS if self.secure else case.listen
        return listen(Site(Notes()))

    async def addAndList(self, case: NetworkTestCase) -> None:
        port = self.serve(case)
        agent = case.agent()
        url = case.url(port, b"/notes")
        expected = b"https" if self.secure else b"http"
        case.assertTrue(url.startswith(expected + b"://127.0.0.1:"))

        for note in (b"milk", b"eggs"):
            posted = await agent.request(
                b"POST", url, bodyProducer=FileBodyProducer(BytesIO(note))
            )
            case.assertEqual(posted.code, 201)
            await readBody(posted)

        listed = await agent.request(b"GET", url, Headers())
        case.assertEqual(await readBody(listed), b"milk\neggs\n")
        case.assertEqual(listed.headers.getRawHeaders(b"x-scheme"), [expected])


class HTTPTests(NetworkTestCase, NotesMixin):
    """
    L{Notes} over HTTP.
    """

    async def test_addAndList(self) -> None:
        """
        Notes posted are listed in order; nothing closes the agent's pool.
        """
        await self.addAndList(self)


class HTTPSTests(NetworkTestCase, NotesMixin):
    """
    L{Notes} over HTTPS, verified against the run's authority.
    """

    skip = _NO_TLS

    secure = True

    async def test_addAndList(self) -> None:
        """
        Notes posted over TLS are listed in order, and the resource sees a
        secure request.
        """
        await self.addAndList(self)

    async def test_localhost(self) -> None:
        """
        C{https://localhost} works too: the run's certificate names
        C{localhost}, and trialnet maps it to the port's address without
        resolving it.
        """
        port = self.serve(self)
        url = self.url(port, b"/").replace(b"127.0.0.1", b"localhost")
        response = await self.agent().request(b"GET", url)
        self.assertEqual(response.code, 200)
        await readBody(response)
