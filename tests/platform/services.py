"""NRPS and AGS endpoints for the test platform, backed by plain lists a test can change."""

from __future__ import annotations

from tests.platform.server import Request, Response, TestPlatform

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def member(sub: str, role: str = "Learner", status: str = "Active", **extra) -> dict:
    return {
        "user_id": sub,
        "status": status,
        "roles": [MEMBERSHIP + role],
        "name": f"Person {sub}",
        "email": f"{sub}@example.edu",
        **extra,
    }


class Services:
    """Serves /nrps (paged, with a mixed-case next URL and a differences link) and /ags."""

    def __init__(self, platform: TestPlatform, page_size: int = 2) -> None:
        self.platform = platform
        self.members: list[dict] = []
        self.differences: list[dict] = []
        self.lineitems: list[dict] = []
        self.results: dict[str, list[dict]] = {}
        self.scores: list[dict] = []
        self.failures: list[int] = []  # statuses to answer before succeeding
        self.page_size = page_size
        platform.route("GET", "/nrps/Context/ABC/Memberships", self._members)
        platform.route("GET", "/nrps/Context/ABC/Memberships/Differences", self._differences)
        platform.route("GET", "/ags/lineitems", self._lineitems)
        platform.route("POST", "/ags/lineitems", self._create_lineitem)

    @property
    def nrps_url(self) -> str:
        return self.platform.base_url + "/nrps/Context/ABC/Memberships"

    @property
    def lineitems_url(self) -> str:
        return self.platform.base_url + "/ags/lineitems"

    def _fail(self, request: Request) -> Response | None:
        if not request.headers.get("authorization", "").startswith("Bearer at-"):
            return Response(401, {"error": "no token"})
        if self.failures:
            status = self.failures.pop(0)
            return Response(status, {"error": "try later"}, headers={"Retry-After": "0"})
        return None

    def _members(self, request: Request) -> Response:
        failed = self._fail(request)
        if failed:
            return failed
        page = int(request.query.get("Page", ["0"])[0])
        chunk = self.members[page * self.page_size : (page + 1) * self.page_size]
        links = [f'<{self.nrps_url}/Differences?Since=Token{len(self.members)}>; rel="differences"']
        if (page + 1) * self.page_size < len(self.members):
            links.append(f'<{self.nrps_url}?Page={page + 1}&Cursor=MiXeD>; rel="next"')
        return Response(
            body={"id": self.nrps_url, "context": {"id": "ABC"}, "members": chunk},
            headers={"Link": ", ".join(links)},
            content_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
        )

    def _differences(self, request: Request) -> Response:
        failed = self._fail(request)
        if failed:
            return failed
        return Response(
            body={"id": self.nrps_url, "members": self.differences},
            headers={"Link": f'<{self.nrps_url}/Differences?Since=Later>; rel="differences"'},
        )

    def _lineitems(self, request: Request) -> Response:
        return self._fail(request) or Response(body=self.lineitems)

    def _create_lineitem(self, request: Request) -> Response:
        failed = self._fail(request)
        if failed:
            return failed
        body = request.json()
        body["id"] = f"{self.lineitems_url}/{len(self.lineitems) + 1}"
        self.add_lineitem(body)
        return Response(201, body)

    def add_lineitem(self, lineitem: dict, results: list[dict] | None = None) -> None:
        self.lineitems.append(lineitem)
        path = lineitem["id"].replace(self.platform.base_url, "")
        self.results[path] = results or []
        self.platform.route(
            "GET",
            path + "/results",
            lambda r, p=path: self._fail(r) or Response(body=self.results[p]),
        )
        self.platform.route("POST", path + "/scores", self._score)

    def _score(self, request: Request) -> Response:
        failed = self._fail(request)
        if failed:
            return failed
        self.scores.append(request.json())
        return Response(204, "")
