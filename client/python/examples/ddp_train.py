"""Data-parallel training with PyTorch DDP (gloo, CPU), its learning rate
scheduled by lrsched.

Every rank evaluates its own shard of the validation set. With a local
ReduceLROnPlateau each rank decides on its own shard's loss, so the ranks'
learning rates can drift apart. With the two marked lines the schedule lives
in the lrsched server: it averages the ranks' losses, decides once, and gives
every rank the same learning rate; the ranks ride out a restart of the
server.

Run it with a server listening on localhost:50051:

    python3 -m torch.distributed.run --standalone --nproc_per_node=2 \\
        --redirects=1 --tee=1 ddp_train.py --server=localhost:50051 --job=ddp-example

(--redirects=1 --tee=1: Debian 12's PyTorch 1.13 on Python 3.11 fails to
parse the default --redirects=0; these print each rank's output as usual.)

Without the two lines marked (1 of 2) and (2 of 2), it is the same script
with PyTorch's local scheduler.
"""

import argparse

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import lrsched.torch  # (1 of 2) lrsched's drop-in for PyTorch's schedulers


def synthetic(seed, count, classes=4, features=16):
    """A classification problem with label noise, so that the loss levels off."""
    generator = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, features, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(classes, (count,), generator=generator)
    x = centers[labels] + 1.5 * torch.randn(count, features, generator=generator)
    return x, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="localhost:50051",
                        help="host:port of the lrsched server")
    parser.add_argument("--job", default="ddp-example", help="the job's id in lrsched")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    dist.init_process_group("gloo")  # torch.distributed.run sets the rendezvous
    rank, world_size = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    # (2 of 2) The same scheduler, held by the lrsched server for every rank.
    scheduler = lrsched.torch.RemoteScheduler(optimizer, args.job, scheduler, server=args.server)

    train_x, train_y = synthetic(1, 2048)
    val_x, val_y = synthetic(2, 512)
    # Each rank trains and validates on its own shard.
    train_x, train_y = train_x[rank::world_size], train_y[rank::world_size]
    val_x, val_y = val_x[rank::world_size], val_y[rank::world_size]
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        for begin in range(0, len(train_x), 64):
            optimizer.zero_grad()
            loss_fn(model(train_x[begin:begin + 64]), train_y[begin:begin + 64]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(val_x), val_y).item()
        print(f"rank {rank} epoch {epoch} lr {optimizer.param_groups[0]['lr']!r} "
              f"val_loss {val_loss:.4f}", flush=True)
        scheduler.step(val_loss)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
