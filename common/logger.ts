import winston from 'winston';

/** Log level from `LOG_LEVEL` (default `info`). */
const level = process.env.LOG_LEVEL ?? 'info';

/**
 * Creates a JSON logger (winston) for one component. Messages are capitalised, past tense and name the
 * object kind ("Extended thin pool"); fields are lowerCamelCase (`thinPool`, `node`, `err`).
 * Set `LOG_LEVEL=silent` to mute (tests).
 */
export function createLogger(component: string): winston.Logger {
  return winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors(),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

export type Logger = winston.Logger;
