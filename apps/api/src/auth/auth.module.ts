import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { MongooseModule } from '@nestjs/mongoose';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG } from '@app/common';
import { OrganizationsModule } from '../organizations/organizations.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { IpThrottlerGuard } from './guards/ip-throttler.guard';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { ModuleAccessGuard } from './guards/module-access.guard';
import { RolesGuard } from './guards/roles.guard';
import { resolveJwtSecret } from './jwt-secret';
import { JWT_ALGORITHM, JWT_SECRET, JwtStrategy } from './jwt.strategy';
import { LoginFailuresRepository } from './login-failures.repository';
import { LoginThrottleService } from './login-throttle.service';
import { LoginFailure, LoginFailureSchema } from './schemas/login-failure.schema';

const jwtSecretProvider = {
  provide: JWT_SECRET,
  inject: [APP_CONFIG],
  useFactory: resolveJwtSecret,
};

@Module({
  imports: [
    OrganizationsModule,
    PassportModule,
    // Per-IP limit on the routes that opt in with @LimitPerAddress (login, register); per-email lockout is LoginThrottleService.
    ThrottlerModule.forRoot([{ name: 'default', ttl: 60_000, limit: 1_000_000 }]),
    JwtModule.registerAsync({
      extraProviders: [jwtSecretProvider],
      inject: [JWT_SECRET],
      useFactory: (secret: string) => ({
        secret,
        signOptions: { algorithm: JWT_ALGORITHM },
        verifyOptions: { algorithms: [JWT_ALGORITHM] },
      }),
    }),
    MongooseModule.forFeature([{ name: LoginFailure.name, schema: LoginFailureSchema }]),
  ],
  controllers: [AuthController],
  providers: [
    jwtSecretProvider,
    AuthService,
    JwtStrategy,
    LoginFailuresRepository,
    LoginThrottleService,
    // Order matters: authenticate, then throttle, then roles, then module access.
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: IpThrottlerGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
    { provide: APP_GUARD, useClass: ModuleAccessGuard },
  ],
  exports: [JWT_SECRET],
})
export class AuthModule {}
