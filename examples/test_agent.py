"""
An HTTP client with a persistent connection pool, tested against a real
server: the pooled connection and the pool's timer go away with the test
(the classic dirty reactor of treq #86).
"""

from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.iweb import IAgentEndpointFactory
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from zope.interface import implementer

from trialnet import NetworkTestCase


class Greeting(Resource):
    """
    Says hello.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"hello"


@implementer(IAgentEndpointFactory)
class OneServer:
    """
    Sends every request to one endpoint.
    """

    def __init__(self, endpoint: IStreamClientEndpoint) -> None:
        self.endpoint = endpoint

    def endpointForURI(self, uri: object) -> IStreamClientEndpoint:
        return self.endpoint


class AgentTests(NetworkTestCase):
    """
    An L{Agent} with a persistent pool, its connections made by trialnet.
    """

    async def test_persistentPool(self) -> None:
        """
        Two requests get their answers over one pooled connection; no
        tearDown closes the pool, its connection or its timer.
        """
        from twisted.internet import reactor

        port = self.listen(Site(Greeting()))
        pool = self.track(HTTPConnectionPool(reactor, persistent=True))
        servers = OneServer(self.clientEndpoint(port))
        agent = Agent.usingEndpointFactory(reactor, servers, pool=pool)
        url = b"http://127.0.0.1:%d/" % port.getHost().port  # type: ignore[attr-defined]
        for _ in range(2):
            response = await agent.request(b"GET", url)
            self.assertEqual(await readBody(response), b"hello")
