"""One rank of a small data-parallel training run for the distributed tests.

Started by test_distributed.py as plain processes (RANK and WORLD_SIZE in
the environment, a file rendezvous), it trains a small regression model
under DistributedDataParallel (gloo, CPU) with a warm-up, then
ReduceLROnPlateau on the validation loss averaged over the ranks by the
server (each rank reports its own mean loss weighted by its sample count).
It writes its record (every epoch's learning rate, bit for bit, and its own
validation loss and sample count) to RECORD.rank<N>.json.

With --pause_at, rank 0 stops before reporting those epochs' metrics until
the test creates SYNC_DIR/resume.<epoch>, having created
SYNC_DIR/paused.<epoch>: the other ranks are then waiting in a Step for the
next epoch, and the test restarts the server under them.
"""

import argparse
import json
import os
import time

import torch
import torch.distributed as dist
from torch.optim import lr_scheduler

import lrsched.torch

WARMUP = 5


def make_data(seed: int, count: int):
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(count, 8, generator=generator, dtype=torch.float64)
    weights = torch.linspace(-1, 1, 8, dtype=torch.float64)
    # Noise the model cannot fit, so that the validation loss levels off and
    # the plateau schedule has something to decide.
    noise = 0.5 * torch.randn(count, generator=generator, dtype=torch.float64)
    return features, features @ weights + noise


def local_scheduler(optimizer):
    """The local schedule this run would have used: a linear warm-up, then
    ReduceLROnPlateau (lrsched's warm-up-then-plateau)."""
    return lr_scheduler.SequentialLR(optimizer, [
        lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=WARMUP),
        lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, factor=0.5, threshold=1e-3),
    ], milestones=[WARMUP])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--rendezvous", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--pause_at", type=int, nargs="*", default=[])
    parser.add_argument("--sync_dir", default="")
    args = parser.parse_args()

    torch.set_num_threads(1)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    dist.init_process_group("gloo", init_method=f"file://{args.rendezvous}", rank=rank,
                            world_size=world_size)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(
        torch.nn.Linear(8, 1, dtype=torch.float64))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = local_scheduler(optimizer)
    scheduler = lrsched.torch.RemoteScheduler(optimizer, args.job, scheduler, server=args.server)

    train_x, train_y = make_data(1, 512)
    val_x, val_y = make_data(2, 300)
    # Uneven validation shards, so that the weights matter.
    val_bounds = [0, 100, 220, 300] if world_size == 3 else [0, 120, 300]
    val_x, val_y = (t[val_bounds[rank]:val_bounds[rank + 1]] for t in (val_x, val_y))
    train_x, train_y = train_x[rank::world_size], train_y[rank::world_size]

    record = []
    for epoch in range(args.epochs):
        lr = optimizer.param_groups[0]["lr"]
        for begin in range(0, len(train_x), 32):
            optimizer.zero_grad()
            prediction = model(train_x[begin:begin + 32]).squeeze(1)
            torch.nn.functional.mse_loss(prediction, train_y[begin:begin + 32]).backward()
            optimizer.step()
        with torch.no_grad():
            val_loss = torch.nn.functional.mse_loss(model(val_x).squeeze(1), val_y).item()
        record.append({"epoch": epoch, "lr": float.hex(lr), "val_loss": float.hex(val_loss),
                       "count": len(val_x)})
        if rank == 0 and epoch in args.pause_at:
            open(os.path.join(args.sync_dir, f"paused.{epoch}"), "w").close()
            resume = os.path.join(args.sync_dir, f"resume.{epoch}")
            deadline = time.monotonic() + 300
            while not os.path.exists(resume):
                if time.monotonic() > deadline:
                    raise SystemExit(f"rank 0: no {resume} within 300 s")
                time.sleep(0.01)
        scheduler.step(val_loss, weight=len(val_x))
    final = {"epoch": args.epochs, "lr": float.hex(optimizer.param_groups[0]["lr"])}
    with open(f"{args.record}.rank{rank}.json", "w") as out:
        json.dump({"epochs": record, "final": final, "step_rpcs": scheduler.step_rpcs}, out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
