"""Who is calling: the Bearer token of every request, and which merchants it may touch."""

from __future__ import annotations

from fastapi import Header, Request

from demandmatch.store import Actor, NotFound, Store, Unauthorized
from demandmatch.store.accounts import Principal


def store_of(request: Request) -> Store:
    return request.app.state.store


def principal(request: Request, authorization: str | None = Header(None)) -> Principal:
    """The caller, from `Authorization: Bearer <token>`; 401 when missing or unknown."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>' with every call")
    return store_of(request).authenticate(token.strip())


def scoped(who: Principal, merchant_id: str) -> str:
    """The merchant id if the caller may act on it. Another merchant's id answers exactly as
    an id that does not exist (404), so a token cannot find out which merchants exist."""
    if not who.can_see(merchant_id):
        raise NotFound(f"no merchant {merchant_id}")
    return merchant_id


def actor(request: Request, who: Principal) -> Actor:
    ip = request.client.host if request.client else None
    return Actor(token_id=who.token_id, ip=ip, via="api")
