// server.js -- run local-aws-sqs on a free loopback port for the vz-events tests and demo.
//
// usage: node server.js PORT_FILE [QUEUE...]
// Listens on 127.0.0.1 with port 0 (the kernel picks a free one) and writes the
// port to PORT_FILE once it accepts connections.  Each QUEUE named is created as the
// deployment creates it (VisibilityTimeout 30, redrive after 3 receives to its stage's own
// dead-letter queue `atd-vz-data-events-deadletter_<stage>`, the stage being the queue name's
// `pr_<N>` or last `_` part; `..._local` for a name without one), which is created too.
// Stops on SIGTERM or SIGINT.
"use strict";
const fs = require("fs");
const { createSqsServer } = require("local-aws-sqs");

const [portFile, ...names] = process.argv.slice(2);
if (!portFile) {
    console.error("usage: node server.js PORT_FILE [QUEUE...]");
    process.exit(2);
}
const region = process.env.AWS_REGION || "us-east-1";
const accountId = "000000000000";
const prefix = "atd-vz-data-events-";
function deadLetterQueueOf(name) {
    const m = /_(pr_[0-9]+|[a-z0-9]+)$/.exec(name.slice(prefix.length));
    return `${prefix}deadletter_${name.startsWith(prefix) && m ? m[1] : "local"}`;
}
const deadLetterQueues = [...new Set(names.map(deadLetterQueueOf))];
const queues = deadLetterQueues.map((QueueName) => ({ QueueName })).concat(
    names.map((QueueName) => ({
        QueueName,
        Attributes: {
            DelaySeconds: "0",
            MaximumMessageSize: "262144",
            MessageRetentionPeriod: "345600",
            VisibilityTimeout: "30",
            RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: `arn:aws:sqs:${region}:${accountId}:${deadLetterQueueOf(QueueName)}`,
                maxReceiveCount: 3,
            }),
        },
    }))
);

createSqsServer({
    port: 0,
    hostname: "127.0.0.1",
    region,
    accountId,
    emulateQueueCreationLifecycle: false,
    queues,
}).then((server) => {
    const port = server.address().port;
    fs.writeFileSync(portFile + ".tmp", String(port));
    fs.renameSync(portFile + ".tmp", portFile);
    console.error(`local-aws-sqs listening on http://127.0.0.1:${port} (${queues.length} queues)`);
    const stop = () => server.close(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
});
