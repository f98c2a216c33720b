#!/usr/bin/env python3
"""Smoke test of a running deployment: one chat message each way through the load balancer.

    deploy/smoke-chat.py http://127.0.0.1:8088 demo demo-password

Signs the agent in, opens a visitor session, connects both over WebSocket (/v1/ws?token=...),
sends a customer message and the agent's reply, and checks each side receives the other's
message. Exits 0 on success. Needs `pip install websockets`.
"""
import asyncio
import json
import sys
import urllib.request
import uuid

import websockets


def post(base, path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


async def wait_for(ws, what, predicate, timeout=20):
    async def loop():
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "error":
                raise RuntimeError(f"error frame while waiting for {what}: {frame}")
            if predicate(frame):
                return frame
    try:
        return await asyncio.wait_for(loop(), timeout)
    except asyncio.TimeoutError:
        raise RuntimeError(f"timed out waiting for {what}") from None


async def main(base, agent_id, password):
    run = uuid.uuid4().hex[:8]  # client message ids must be new: a resent id gets the first ack only
    customer_id, agent_id_msg = f"smoke-c-{run}", f"smoke-a-{run}"
    ws_base = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/v1/ws?token="
    agent_token = post(base, "/v1/agent/login", {"agentId": agent_id, "password": password})["token"]
    visitor = post(base, "/v1/visitor/session", {"name": "Smoke Test"})
    async with websockets.connect(ws_base + agent_token) as agent, \
            websockets.connect(ws_base + visitor["token"]) as customer:
        agent_hello = await wait_for(agent, "the agent's hello", lambda f: f["type"] == "hello")
        customer_hello = await wait_for(customer, "the customer's hello", lambda f: f["type"] == "hello")
        print(f"agent on {agent_hello['gatewayId']}, customer on {customer_hello['gatewayId']}")

        await customer.send(json.dumps({"type": "message", "id": customer_id, "body": "Hello from smoke-chat"}))
        await wait_for(customer, "the ack", lambda f: f["type"] == "ack" and f.get("id") == customer_id)
        # The agent may hold other conversations: the customer's ids start with its visitor id.
        mine = visitor["visitorId"] + "."
        assigned = await wait_for(agent, "conversation.assigned", lambda f: f["type"] == "conversation.assigned"
                                  and f.get("conversationId", "").startswith(mine))
        conversation = assigned["conversationId"]
        seen = any(e.get("id") == customer_id for e in assigned.get("history", []))
        if not seen:
            await wait_for(agent, "the customer's message", lambda f: f["type"] == "message" and f.get("id") == customer_id)

        await agent.send(json.dumps({"type": "message", "id": agent_id_msg, "conversationId": conversation,
                                     "body": "Hello from the agent"}))
        reply = await wait_for(customer, "the agent's reply", lambda f: f["type"] == "message" and f.get("id") == agent_id_msg)
        print(f"conversation {conversation}: customer got the reply with seq {reply['seq']}")
        await customer.send(json.dumps({"type": "close", "conversationId": conversation}))
        await wait_for(agent, "conversation.closed",
                       lambda f: f["type"] == "conversation.closed" and f.get("conversationId") == conversation)
    print("smoke test passed")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    try:
        asyncio.run(main(*sys.argv[1:]))
    except Exception as error:  # noqa: BLE001 - report any failure as one line
        sys.exit(f"smoke test FAILED: {error}")
