// server.js -- run local-aws-sqs on a free loopback port for the vz-events tests and demo.
//
// usage: node server.js PORT_FILE [QUEUE...]
// Listens on 127.0.0.1 with port 0 (the kernel picks a free one) and writes the
// port to PORT_FILE once it accepts connections.  It always has the dead-letter
// queue `atd_vz_deadletter_queue`; each QUEUE named is created as the deployment
// creates it (VisibilityTimeout 30, redrive to that queue after 3 receives).
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
const dlq = "atd_vz_deadletter_queue";
const queues = [{ QueueName: dlq }].concat(
    names.map((QueueName) => ({
        QueueName,
        Attributes: {
            DelaySeconds: "0",
            MaximumMessageSize: "262144",
            MessageRetentionPeriod: "345600",
            VisibilityTimeout: "30",
            RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: `arn:aws:sqs:${region}:${accountId}:${dlq}`,
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
