import { status } from '@grpc/grpc-js';

/** An error the emulator answers with, carrying the gRPC status code the real service would use. */
export class ApiError extends Error {
  readonly code: status;

  constructor(code: status, message: string) {
    super(message);
    this.code = code;
  }
}

export const invalid = (message: string) => new ApiError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new ApiError(status.NOT_FOUND, message);
