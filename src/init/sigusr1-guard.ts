// Imported first by cli.ts, for its side effect alone: as soon as any of steward's code runs,
// SIGUSR1 has a listener, so a signal meant for the app can never start Node's inspector.
// (node --disable-sigusr1 would also silence the listener that forwards SIGUSR1 to the app.)
// The signal listeners installed later replace this no-op in effect; it stays harmlessly.
process.on('SIGUSR1', () => {});
