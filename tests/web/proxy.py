"""A TCP proxy whose connections can be cut: ``python proxy.py LISTEN_PORT TARGET_PORT``.

SIGUSR1 cuts every open connection at once (both sides closed, as a dropped
network would), so a browser test can break a stream mid-answer for real.
"""

from __future__ import annotations

import asyncio
import signal
import sys


async def main(listen: int, target: int) -> None:
    open_writers: set[asyncio.StreamWriter] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        open_writers.update((client_w, server_w))
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))
        open_writers.difference_update((client_w, server_w))

    def cut() -> None:
        for writer in list(open_writers):
            writer.transport.abort()
        open_writers.clear()

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, cut)
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
