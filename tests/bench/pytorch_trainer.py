"""lrsched-trainer's work, done by PyTorch: the same MLP (Linear, tanh,
Linear, softmax cross-entropy, float64), the same data (a CSV of features and
class), the same split (the first 20% for validation), the same contiguous
shards and batches, SGD with momentum at a constant rate, one process or
several with DistributedDataParallel on gloo. Prints one line per epoch with
the samples per second of the training loop, like lrsched-trainer's
--log_csv, so that trainer_vs_pytorch.sh compares like with like.

    /usr/bin/python3 pytorch_trainer.py --csv data.csv --processes 2 --log out.csv
    /usr/bin/python3 pytorch_trainer.py --make_data data.csv --samples 40000 ...
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def make_data(path, samples, dimension, classes, noise, seed):
    """Gaussian clusters around random centres, in lrsched-trainer's CSV form."""
    generator = np.random.default_rng(seed)
    centres = generator.normal(0.0, 1.0, (classes, dimension))
    labels = generator.integers(0, classes, samples)
    features = centres[labels] + generator.normal(0.0, noise, (samples, dimension))
    table = np.column_stack([features, labels])
    np.savetxt(path, table, fmt=["%.17g"] * dimension + ["%d"], delimiter=",")


def train(rank, world, arguments, results):
    torch.set_num_threads(1)
    torch.manual_seed(arguments.seed)
    if world > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(arguments.port))
        dist.init_process_group("gloo", rank=rank, world_size=world)
    table = np.loadtxt(arguments.csv, delimiter=",", ndmin=2)
    features = torch.from_numpy(table[:, :-1].copy())
    labels = torch.from_numpy(table[:, -1].astype(np.int64))
    cut = round(arguments.validation_fraction * len(labels))
    train_x, train_y = features[cut:], labels[cut:]
    valid_x, valid_y = features[:cut], labels[:cut]

    def shard(tensor):
        size = len(tensor)
        return tensor[size * rank // world:size * (rank + 1) // world]

    train_x, train_y, valid_x, valid_y = map(shard, (train_x, train_y, valid_x, valid_y))
    batch = min(arguments.batch_size, len(train_y))
    batches = max(1, (len(labels) - cut) // world // batch)
    classes = int(labels.max()) + 1
    model = torch.nn.Sequential(
        torch.nn.Linear(features.shape[1], arguments.hidden), torch.nn.Tanh(),
        torch.nn.Linear(arguments.hidden, classes)).double()
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=arguments.lr, momentum=arguments.momentum)
    loss_function = torch.nn.CrossEntropyLoss()
    lines = []
    for epoch in range(arguments.epochs):
        start = time.perf_counter()
        loss_sum = 0.0
        for b in range(batches):
            begin = (b * batch) % max(1, len(train_y) - batch + 1)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(train_x[begin:begin + batch]), train_y[begin:begin + batch])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            outputs = model(valid_x)
            valid = torch.tensor([
                torch.nn.functional.cross_entropy(outputs, valid_y, reduction="sum").item(),
                float(len(valid_y)), loss_sum / batches, batches * batch / seconds],
                dtype=torch.float64)
        if world > 1:
            dist.all_reduce(valid)
        if rank == 0:
            lines.append("%d,%.6f,%.6f,%.0f" % (epoch, valid[2] / world, valid[0] / valid[1],
                                                 valid[3]))
    if rank == 0:
        results.put(lines)
    if world > 1:
        dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--make_data", help="write a synthetic CSV here and stop")
    parser.add_argument("--samples", type=int, default=40000)
    parser.add_argument("--dimension", type=int, default=16)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--noise", type=float, default=3.0)
    parser.add_argument("--csv")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--validation_fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=29517)
    parser.add_argument("--log", required=False, help="epoch,train_loss,validation_loss,"
                        "samples_per_second per line")
    arguments = parser.parse_args()
    if arguments.make_data:
        make_data(arguments.make_data, arguments.samples, arguments.dimension, arguments.classes,
                  arguments.noise, arguments.seed)
        return
    context = mp.get_context("spawn")
    results = context.Queue()
    if arguments.processes == 1:
        train(0, 1, arguments, results)
    else:
        processes = [context.Process(target=train, args=(r, arguments.processes, arguments, results))
                     for r in range(arguments.processes)]
        for process in processes:
            process.start()
        lines = results.get()
        results.put(lines)
        for process in processes:
            process.join()
            if process.exitcode != 0:
                raise SystemExit("a training process failed")
    lines = results.get()
    text = "epoch,train_loss,validation_loss,samples_per_second\n" + "\n".join(lines) + "\n"
    if arguments.log:
        with open(arguments.log, "w") as log:
            log.write(text)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
