"""
An HTTP client with a persistent connection pool, tested against a real
server: the pooled connection and the pool's timer go away with the test
(the classic dirty reactor of treq #86).
"""

from twisted.web.client import readBody
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from trialnet import NetworkTestCase


class Greeting(Resource):
    """
    Says hello.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"hello"


class AgentTests(NetworkTestCase):
    """
    An L{Agent<twisted.web.client.Agent>} with a persistent pool, from
    C{agent()}: its connections are made by trialnet.
    """

    async def test_persistentPool(self) -> None:
        """
        Two requests get their answers over one pooled connection; no
        tearDown closes the pool, its connection or its timer.
        """
        port = self.listen(Site(Greeting()))
        agent = self.agent()
        for _ in range(2):
            response = await agent.request(b"GET", self.url(port))
            self.assertEqual(await readBody(response), b"hello")
